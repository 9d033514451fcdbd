//! The report (Markdown) and its plot (SVG, written by hand), and the verdict.

use std::fmt::Write as _;

use anyhow::Result;

use crate::Run;
use crate::check::Findings;

/// Fills each fault's `healthy_at`: the first moment after it ended by which every instance
/// had answered /healthz 200.
pub fn recoveries(run: &Run) {
    let health = run.health.lock().unwrap().clone();
    let n = run.args.n();
    let mut faults = run.faults.lock().unwrap();
    for fault in faults.iter_mut() {
        let mut first = vec![None; n];
        for &(t, i, ok) in &health {
            if ok && t >= fault.end && first[i].is_none() {
                first[i] = Some(t);
            }
        }
        fault.healthy_at = first
            .iter()
            .copied()
            .collect::<Option<Vec<f64>>>()
            .and_then(|v| v.into_iter().reduce(f64::max));
    }
}

fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let k = ((values.len() as f64 * p).ceil() as usize).clamp(1, values.len()) - 1;
    Some(values[k])
}

fn secs(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.2} s"))
}

/// Writes `report.md` and `report.svg` in the output folder; whether every goal was met.
pub fn write(run: &Run, f: &Findings, load_end: f64, drain_end: f64, setup: &str) -> Result<bool> {
    let args = &run.args;
    let faults = run.faults.lock().unwrap().clone();
    let mut md = String::new();
    let backend = if args.sqlite { "SQLite" } else { "PostgreSQL" };
    let _ = writeln!(md, "# Soak report\n");
    let _ = writeln!(
        md,
        "{} inbound messages asked over {} min from {} citizens; {} `serve` instance(s) on {backend}; \
         {} operators; dispatcher lease {} s; faults {}; seed {}. {setup}. Load ended at {load_end:.0} s, \
         drained by {drain_end:.0} s ({}).\n",
        args.messages,
        args.minutes,
        args.citizens,
        args.n(),
        args.operators,
        args.lease_secs,
        if args.no_faults { "off" } else { "on" },
        args.seed,
        if f.drained {
            "drained"
        } else {
            "NOT drained in time"
        }
    );

    let _ = writeln!(md, "Machine: {}.\n", machine());

    // Goals.
    let in_flight_ok = f.in_flight_per_fault.iter().all(|(d, bound)| d <= bound);
    let recovery_ok = faults
        .iter()
        .all(|x| x.healthy_at.is_some_and(|h| h - x.end <= 10.0));
    let mut outside: Vec<f64> = f.latencies.iter().filter(|l| !l.2).map(|l| l.1).collect();
    let mut inside: Vec<f64> = f.latencies.iter().filter(|l| l.2).map(|l| l.1).collect();
    let mut all: Vec<f64> = f.latencies.iter().map(|l| l.1).collect();
    let p99_out = percentile(&mut outside, 0.99);
    let counts = f.counts_hold() && in_flight_ok;
    let times = recovery_ok && p99_out.is_none_or(|p| p < 2.0);
    let yes = |b: bool| if b { "met" } else { "**MISSED**" };
    let _ = writeln!(md, "## Goals\n");
    let _ = writeln!(md, "| goal | result |\n| --- | --- |");
    let _ = writeln!(
        md,
        "| 0 lost | {} ({} lost) |",
        yes(f.lost.is_empty()),
        f.lost.len()
    );
    let _ = writeln!(
        md,
        "| 0 duplicated beyond the sends in flight at a fault | {} ({} beyond; {} in flight at a fault) |",
        yes(f.dup_beyond.is_empty() && in_flight_ok),
        f.dup_beyond.len(),
        f.dup_in_flight
    );
    let _ = writeln!(md, "| every count of the checker | {} |", yes(counts));
    let _ = writeln!(
        md,
        "| p99 reply latency under 2 s outside fault windows | {} ({}) |",
        yes(p99_out.is_none_or(|p| p < 2.0)),
        secs(p99_out)
    );
    let _ = writeln!(
        md,
        "| every instance healthy within 10 s of a fault ending | {} |",
        yes(recovery_ok)
    );

    // Counts.
    let _ = writeln!(md, "\n## Counts\n");
    let _ = writeln!(md, "| what | count |\n| --- | --- |");
    for (channel, n) in &f.inbound_sent {
        let stored = f.inbound_stored.get(channel).copied().unwrap_or(0);
        let _ = writeln!(
            md,
            "| inbound sent on {channel} (distinct) / stored | {n} / {stored} |"
        );
    }
    for (kind, n) in &f.by_kind {
        let _ = writeln!(md, "| sent: {kind} | {n} |");
    }
    let rows = [
        ("lost inbound", f.lost.len()),
        ("inbound stored twice", f.stored_twice),
        ("inbound without an outcome", f.no_outcome),
        (
            "inbound with more than one bot reply",
            f.several_outcomes.len(),
        ),
        ("button presses sent", f.presses.0),
        ("button presses answered", f.presses.1),
        ("web chat posts given up", f.webchat_given_up as usize),
        (
            "outbox rows failed without a reason",
            f.failed_without_reason,
        ),
        (
            "rows recorded sent, not on the platform",
            f.sent_not_delivered.len(),
        ),
        ("duplicate deliveries in flight at a fault", f.dup_in_flight),
        ("duplicate deliveries beyond", f.dup_beyond.len()),
        ("platform messages matching no row", f.unexplained.len()),
        (
            "bot answers while an operator held the conversation",
            f.bot_after_claim.len(),
        ),
        (
            "bot replies to 👍/👎 while held (not a goal)",
            f.feedback_after_claim,
        ),
        ("operator replies accepted by the API", f.operator_replies.0),
        ("operator replies stored", f.operator_replies.1),
        (
            "operator replies delivered to the right citizen",
            f.operator_replies.2,
        ),
        ("operator reply problems", f.operator_problems.len()),
    ];
    for (what, n) in rows {
        let _ = writeln!(md, "| {what} | {n} |");
    }
    for (state, n) in &f.outbox {
        let _ = writeln!(md, "| outbox rows {state} | {n} |");
    }
    let actions = run.actions.lock().unwrap().clone();
    let mut actions: Vec<_> = actions.into_iter().collect();
    actions.sort();
    for (name, n) in actions {
        let _ = writeln!(md, "| operators: {name} | {n} |");
    }
    let _ = writeln!(
        md,
        "\n| cursor | stored | should reach | gap |\n| --- | --- | --- | --- |"
    );
    for (c, stored, want, gap) in &f.cursors {
        let _ = writeln!(
            md,
            "| {c} | {stored} | {want} | {} |",
            if *gap { "**yes**" } else { "no" }
        );
    }

    // Latency.
    let _ = writeln!(md, "\n## Latency, Telegram message to the bot's reply\n");
    let _ = writeln!(
        md,
        "| window | replies | p50 | p99 |\n| --- | --- | --- | --- |"
    );
    let out_n = outside.len();
    let in_n = inside.len();
    let all_n = all.len();
    let _ = writeln!(
        md,
        "| outside fault windows | {out_n} | {} | {} |",
        secs(percentile(&mut outside, 0.5)),
        secs(p99_out)
    );
    let _ = writeln!(
        md,
        "| inside fault windows (until healthy + 2 s) | {in_n} | {} | {} |",
        secs(percentile(&mut inside, 0.5)),
        secs(percentile(&mut inside, 0.99))
    );
    let _ = writeln!(
        md,
        "| all | {all_n} | {} | {} |",
        secs(percentile(&mut all, 0.5)),
        secs(percentile(&mut all, 0.99))
    );

    // Throughput.
    let _ = writeln!(
        md,
        "\n## Throughput per instance (from each process's /metrics)\n"
    );
    let _ = writeln!(
        md,
        "| instance | messages in | messages out | in per second of load |\n| --- | --- | --- | --- |"
    );
    for (i, (a, b)) in run.throughput.lock().unwrap().iter().enumerate() {
        let _ = writeln!(
            md,
            "| {} | {a} | {b} | {:.1} |",
            i + 1,
            *a as f64 / load_end.max(1.0)
        );
    }

    // Faults.
    let _ = writeln!(md, "\n## Faults and recovery\n");
    let _ = writeln!(
        md,
        "| fault | instance | from | to | healthy again after | duplicates in flight / sends accepted in the second before |\n| --- | --- | --- | --- | --- | --- |"
    );
    let mut unknowable = f.in_flight_per_fault.iter();
    for x in &faults {
        let flight = if x.unknowable {
            unknowable
                .next()
                .map_or("–".into(), |(d, b)| format!("{d} / {b}"))
        } else {
            "–".into()
        };
        let _ = writeln!(
            md,
            "| {} | {} | {:.1} s | {:.1} s | {} | {flight} |",
            x.what,
            x.instance.map_or("–".into(), |i| (i + 1).to_string()),
            x.start,
            x.end,
            secs(x.healthy_at.map(|h| h - x.end))
        );
    }

    // Details.
    let lists: [(&str, &Vec<String>); 9] = [
        (
            "Bot answers racing a claim's commit (not a goal)",
            &f.racing_claim,
        ),
        ("Lost inbound", &f.lost),
        ("Several bot replies", &f.several_outcomes),
        ("Recorded sent, not on the platform", &f.sent_not_delivered),
        ("Duplicates beyond the in-flight ones", &f.dup_beyond),
        ("Platform messages matching no row", &f.unexplained),
        ("Bot answers while held", &f.bot_after_claim),
        ("Operator replies", &f.operator_problems),
        ("", &Vec::new()),
    ];
    for (title, list) in lists {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(md, "\n### {title} ({})\n", list.len());
        for item in list.iter().take(20) {
            let _ = writeln!(md, "- {item}");
        }
        if list.len() > 20 {
            let _ = writeln!(md, "- … {} more", list.len() - 20);
        }
    }
    let _ = writeln!(md, "\n![messages and latency over time](report.svg)");
    let passed = if args.ci { counts } else { counts && times };
    let _ = writeln!(
        md,
        "\nVerdict: {}{}",
        if passed { "PASSED" } else { "FAILED" },
        if args.ci { " (CI: counts only)" } else { "" }
    );

    std::fs::write(args.out.join("report.md"), &md)?;
    std::fs::write(args.out.join("report.svg"), svg(run, f, &faults, drain_end))?;
    println!("{md}");
    println!("soak: report in {}", args.out.join("report.md").display());
    Ok(passed)
}

/// Messages in and out per second, and the p99 latency per 10 s window, with the fault
/// windows shaded.
fn svg(run: &Run, f: &Findings, faults: &[crate::FaultRecord], end: f64) -> String {
    let (w, h) = (1000.0, 520.0);
    let (left, right) = (60.0, 20.0);
    let span = end.max(1.0);
    let x = |t: f64| left + (w - left - right) * t / span;
    let secs = span.ceil() as usize + 1;
    let mut inbound = vec![0u32; secs];
    for s in run.sent.lock().unwrap().iter() {
        inbound[(s.at as usize).min(secs - 1)] += 1;
    }
    let mut outbound = vec![0u32; secs];
    for &t in &f.deliveries {
        outbound[(t as usize).min(secs - 1)] += 1;
    }
    let top = inbound
        .iter()
        .chain(&outbound)
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let (p1_top, p1_bottom) = (30.0, 260.0);
    let y1 = |v: f64| p1_bottom - (p1_bottom - p1_top) * v / top;
    let mut windows: Vec<f64> = Vec::new();
    let mut p99 = Vec::new();
    let mut t = 0.0;
    while t < span {
        let mut v: Vec<f64> = f
            .latencies
            .iter()
            .filter(|l| l.0 >= t && l.0 < t + 10.0)
            .map(|l| l.1)
            .collect();
        if let Some(p) = percentile(&mut v, 0.99) {
            p99.push((t + 5.0, p));
            windows.push(p);
        }
        t += 10.0;
    }
    let ltop = windows.iter().copied().fold(1.0, f64::max);
    let (p2_top, p2_bottom) = (310.0, 480.0);
    let y2 = |v: f64| p2_bottom - (p2_bottom - p2_top) * v / ltop;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    for fault in faults {
        let until = fault.healthy_at.unwrap_or(fault.end).max(fault.end);
        let (a, b) = (x(fault.start), x(until).max(x(fault.start) + 2.0));
        let _ = writeln!(
            s,
            r##"<rect x="{a:.1}" y="{p1_top}" width="{:.1}" height="{}" fill="#f4a582" fill-opacity="0.35"><title>{}</title></rect>"##,
            b - a,
            p2_bottom - p1_top,
            escape(&fault.what)
        );
    }
    for (top_, bottom) in [(p1_top, p1_bottom), (p2_top, p2_bottom)] {
        let _ = writeln!(
            s,
            r#"<line x1="{left}" y1="{bottom}" x2="{}" y2="{bottom}" stroke="black"/><line x1="{left}" y1="{top_}" x2="{left}" y2="{bottom}" stroke="black"/>"#,
            w - right
        );
    }
    let line = |series: &[(f64, f64)], y: &dyn Fn(f64) -> f64, colour: &str| {
        let points: Vec<String> = series
            .iter()
            .map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v)))
            .collect();
        format!(
            r#"<polyline fill="none" stroke="{colour}" stroke-width="1.2" points="{}"/>"#,
            points.join(" ")
        )
    };
    let series = |v: &[u32]| -> Vec<(f64, f64)> {
        v.iter()
            .enumerate()
            .map(|(i, n)| (i as f64 + 0.5, *n as f64))
            .collect()
    };
    let _ = writeln!(s, "{}", line(&series(&inbound), &y1, "#2166ac"));
    let _ = writeln!(s, "{}", line(&series(&outbound), &y1, "#b2182b"));
    let _ = writeln!(s, "{}", line(&p99, &y2, "#1b7837"));
    let _ = writeln!(
        s,
        r##"<text x="{left}" y="20" font-size="13">Messages per second: <tspan fill="#2166ac">in (all channels)</tspan>, <tspan fill="#b2182b">out (Telegram deliveries)</tspan>; shaded: faults until healthy</text>"##
    );
    let _ = writeln!(
        s,
        r#"<text x="5" y="{}">{top:.0}/s</text><text x="5" y="{p1_bottom}">0</text>"#,
        p1_top + 4.0
    );
    let _ = writeln!(
        s,
        r##"<text x="{left}" y="300" font-size="13" fill="#1b7837">p99 latency, Telegram message to reply, per 10 s</text>"##
    );
    let _ = writeln!(
        s,
        r#"<text x="5" y="{}">{ltop:.1} s</text><text x="5" y="{p2_bottom}">0</text>"#,
        p2_top + 4.0
    );
    let mut tick = 0.0;
    let step = if span > 300.0 { 60.0 } else { 10.0 };
    while tick <= span {
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{tick:.0}</text>"#,
            x(tick),
            p2_bottom + 14.0
        );
        tick += step;
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="end">seconds since the start</text>"#,
        w - right,
        h - 6.0
    );
    s.push_str("</svg>\n");
    s
}

/// The machine the run is on: cores, CPU model, memory, load average at the end.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let kb: f64 = m.lines().next()?.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!("{:.1} GB", kb / 1_048_576.0))
        })
        .unwrap_or_else(|| "unknown memory".into());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), {memory}; load average at the end {load}")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&mut v, 0.5), Some(50.0));
        assert_eq!(percentile(&mut v, 0.99), Some(99.0));
        assert_eq!(percentile(&mut [3.0], 0.99), Some(3.0));
        assert_eq!(percentile(&mut [], 0.5), None);
    }
}
