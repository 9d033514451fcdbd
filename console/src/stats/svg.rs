//! Charts as SVG drawn on the server: stacked bars of messages by outcome and bars of a share
//! per period. Each chart is an `img` with a title and a description that states its
//! figures, so a screen reader or a page without scripts reads the same numbers; the table
//! under each chart holds them all.

use maud::{Markup, html};
use sportello_core::stats::PeriodRow;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 10.0;

/// The outcomes stacked in the messages chart: field, Italian label, colour.
pub const SERIES: &[(&str, &str, &str)] = &[
    ("answer", "Risposte automatiche", "#0066cc"),
    ("clarify", "Richieste di scelta", "#5c9ded"),
    ("smalltalk", "Convenevoli", "#a5c8f0"),
    ("handoff", "Passate agli operatori", "#d9364f"),
    ("with_operator", "Con un operatore", "#f0a35e"),
];

fn value(p: &PeriodRow, field: &str) -> i64 {
    let c = &p.counts;
    match field {
        "answer" => c.answer,
        "clarify" => c.clarify,
        "smalltalk" => c.smalltalk,
        "handoff" => c.handoff,
        _ => c.with_operator,
    }
}

/// The rectangles `(y, height, colour)` of one stacked bar, bottom first.
fn stack(p: &PeriodRow, top: f64, plot_h: f64) -> Vec<(f64, f64, &'static str)> {
    let mut base = TOP + plot_h;
    let mut out = Vec::new();
    for (field, _, colour) in SERIES {
        let h = plot_h * value(p, field) as f64 / top;
        if h > 0.0 {
            base -= h;
            out.push((base, h, *colour));
        }
    }
    out
}

/// A round upper bound for an axis.
fn nice(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let step = 10f64.powf(max.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if max <= m * step {
            return m * step;
        }
    }
    10.0 * step
}

fn frame(id: &str, title: &str, desc: &str, top: f64, unit: &str, body: Markup) -> Markup {
    let plot_h = HEIGHT - TOP - BOTTOM;
    html! {
        svg id=(id) class="chart" viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img"
            aria-labelledby=(format!("{id}-title {id}-desc")) xmlns="http://www.w3.org/2000/svg" {
            title id=(format!("{id}-title")) { (title) }
            desc id=(format!("{id}-desc")) { (desc) }
            @for i in 0..=4 {
                @let y = TOP + plot_h * (1.0 - f64::from(i) / 4.0);
                line x1=(LEFT) x2=(WIDTH) y1=(y) y2=(y) stroke="#d0d7de" stroke-width="1" {}
                text x=(LEFT - 4.0) y=(y + 4.0) text-anchor="end" font-size="11" fill="#333" {
                    (format_axis(top * f64::from(i) / 4.0, unit))
                }
            }
            (body)
        }
    }
}

fn format_axis(v: f64, unit: &str) -> String {
    if unit == "%" {
        format!("{:.0}%", v * 100.0)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// `28/11` of an ISO date (`2026-11-28`).
fn day_month(iso: &str) -> String {
    let date = crate::views::iso_date(iso);
    date.get(..5).map(str::to_string).unwrap_or(date)
}

/// Which period labels to print under the bars, so that they do not overlap.
fn label_every(n: usize) -> usize {
    (n / 12).max(1)
}

/// Messages per period, stacked by outcome.
pub fn messages(periods: &[PeriodRow]) -> Markup {
    let max = periods.iter().map(|p| p.counts.messages).max().unwrap_or(0);
    let top = nice(max as f64);
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = (WIDTH - LEFT) / periods.len().max(1) as f64;
    let total: i64 = periods.iter().map(|p| p.counts.messages).sum();
    let mut desc = format!(
        "{} periodi, {total} messaggi in tutto, al massimo {max} in un periodo.",
        periods.len()
    );
    // Short ranges are read out whole; longer ones are in the table under the chart.
    if periods.len() <= 31 {
        for p in periods {
            desc.push_str(&format!(" {}: {}", day_month(&p.start), p.counts.messages));
            for (field, label, _) in SERIES {
                let n = value(p, field);
                if n > 0 {
                    desc.push_str(&format!(", {} {n}", label.to_lowercase()));
                }
            }
            desc.push('.');
        }
    } else {
        desc.push_str(" Le cifre di ogni periodo sono nella tabella sotto il grafico.");
    }
    let every = label_every(periods.len());
    frame(
        "chart-messages",
        "Messaggi per periodo, per esito",
        &desc,
        top,
        "",
        html! {
            @for (i, p) in periods.iter().enumerate() {
                @let x = LEFT + slot * i as f64 + slot * 0.15;
                g {
                    title { (crate::views::iso_date(&p.start)) ": " (p.counts.messages) " messaggi" }
                    @for (y, h, colour) in stack(p, top, plot_h) {
                        rect x=(format!("{x:.1}")) y=(format!("{y:.1}")) width=(format!("{:.1}", slot * 0.7))
                            height=(format!("{h:.1}")) fill=(colour) {}
                    }
                }
                @if i % every == 0 {
                    text x=(format!("{:.1}", x + slot * 0.35)) y=(HEIGHT - 8.0) text-anchor="middle" font-size="10" fill="#333" {
                        (day_month(&p.start))
                    }
                }
            }
        },
    )
}

/// A share (0–1) per period, as bars; periods without a value are left empty.
pub fn share(id: &str, title: &str, periods: &[(String, Option<f64>)], colour: &str) -> Markup {
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = (WIDTH - LEFT) / periods.len().max(1) as f64;
    let known: Vec<f64> = periods.iter().filter_map(|(_, v)| *v).collect();
    let desc = match known.is_empty() {
        true => "Nessun dato nel periodo.".to_string(),
        false => format!(
            "Da {:.0}% a {:.0}% nei {} periodi con dati.",
            known.iter().cloned().fold(f64::MAX, f64::min) * 100.0,
            known.iter().cloned().fold(0.0, f64::max) * 100.0,
            known.len()
        ),
    };
    let every = label_every(periods.len());
    frame(
        id,
        title,
        &desc,
        1.0,
        "%",
        html! {
            @for (i, (label, v)) in periods.iter().enumerate() {
                @let x = LEFT + slot * i as f64 + slot * 0.15;
                @if let Some(v) = v {
                    @let h = plot_h * v;
                    rect x=(format!("{x:.1}")) y=(format!("{:.1}", TOP + plot_h - h)) width=(format!("{:.1}", slot * 0.7))
                        height=(format!("{h:.1}")) fill=(colour) {
                        title { (crate::views::iso_date(label)) ": " (format!("{:.1}%", v * 100.0).replace('.', ",")) }
                    }
                }
                @if i % every == 0 {
                    text x=(format!("{:.1}", x + slot * 0.35)) y=(HEIGHT - 8.0) text-anchor="middle" font-size="10" fill="#333" {
                        (day_month(label))
                    }
                }
            }
        },
    )
}

/// The legend of the messages chart.
pub fn legend() -> Markup {
    html! {
        ul class="legend" {
            @for (_, label, colour) in SERIES {
                li { svg width="12" height="12" aria-hidden="true" { rect width="12" height="12" fill=(colour) {} } " " (label) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_labels_read_day_then_month() {
        assert_eq!(day_month("2026-11-28"), "28/11");
    }

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(7.0), 10.0);
        assert_eq!(nice(130.0), 200.0);
        assert_eq!(nice(4_100.0), 5_000.0);
    }
}
