//! The end: wait for the instances to drain, then read the store and the doubles and count.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Result;
use sportello_doubles::telegram::html;
use sqlx::Row;

use crate::cluster::Database;
use crate::{Kind, Run};

/// Waits until no inbound message is left unprocessed and no outbox row waits; whether that
/// happened within `--drain-secs`.
pub async fn drain(run: &Run, database: &Database) -> Result<bool> {
    let deadline = Instant::now() + Duration::from_secs(run.args.drain_secs);
    let x_expected: HashSet<String> = run
        .sent
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.channel == "x")
        .map(|s| s.platform_id.clone())
        .collect();
    let mut calm = 0;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let Ok(pool) = database.pool().await else {
            continue;
        };
        let waiting: Result<i64, _> =
            sqlx::query_scalar("select count(*) from outbox where state in ('pending', 'sending')")
                .fetch_one(&pool)
                .await;
        let x_stored: Result<i64, _> = sqlx::query_scalar(
            "select count(*) from messages where channel = 'x' and direction = 'in'",
        )
        .fetch_one(&pool)
        .await;
        pool.close().await;
        let done = run.webchat_open.load(Ordering::SeqCst) == 0
            && run.telegram.pending_updates() == 0
            && matches!(waiting, Ok(0))
            && x_stored.is_ok_and(|n| n as usize >= x_expected.len());
        calm = if done { calm + 1 } else { 0 };
        if calm >= 4 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Plants what the checker must find (`--plant`): a bot message sent again to its chat, an
/// operator's reply sent to another chat, and an update the instances will never see (its
/// chat's message is recorded as sent by the load, but pushed with an update id already
/// confirmed, so the platform never hands it out).
pub async fn plant(run: &Run) -> Result<()> {
    let sent = run.telegram.sent();
    let client = crate::cluster::client();
    let url = format!("{}/bot{}/sendMessage", run.telegram.api_url(), crate::TOKEN);
    if let Some(m) = sent.iter().find(|m| !m.text.contains("[soak-op")) {
        client
            .post(&url)
            .json(
                &serde_json::json!({ "chat_id": m.chat_id, "text": m.text, "parse_mode": "HTML" }),
            )
            .send()
            .await?;
        println!("soak: planted a second delivery to chat {}", m.chat_id);
    }
    if let Some(m) = sent.iter().find(|m| m.text.contains("[soak-op")) {
        let other = if m.chat_id == crate::load::CHAT_BASE {
            m.chat_id + 1
        } else {
            crate::load::CHAT_BASE
        };
        client
            .post(&url)
            .json(&serde_json::json!({ "chat_id": other, "text": m.text, "parse_mode": "HTML" }))
            .send()
            .await?;
        println!("soak: planted an operator reply to chat {other}");
    }
    run.record(
        "telegram",
        format!("{}:999999999", crate::load::CHAT_BASE),
        Kind::Question,
    );
    println!("soak: planted an inbound message never delivered");
    Ok(())
}

/// How far the times the processes write may be from the soak's clock: each process counts
/// from the wall clock read at its start with a monotonic clock, which the system may slew
/// away from the wall clock by up to 0.5 ms a second.
const CLOCK_MARGIN_MS: i64 = 250;

/// What the checker found.
#[derive(Debug, Default)]
pub struct Findings {
    /// Whether the drain finished in time.
    pub drained: bool,
    /// Inbound messages sent, per channel (distinct ids).
    pub inbound_sent: BTreeMap<String, usize>,
    /// Inbound messages sent, per kind (repeats included).
    pub by_kind: BTreeMap<&'static str, usize>,
    /// Stored inbound messages per channel.
    pub inbound_stored: BTreeMap<String, usize>,
    /// Inbound messages sent and not found (messages stored or, for button presses, answered).
    pub lost: Vec<String>,
    /// (channel, platform id) stored more than once.
    pub stored_twice: usize,
    /// Inbound messages stored without a decision.
    pub no_outcome: usize,
    /// Inbound messages with more than one bot reply.
    pub several_outcomes: Vec<String>,
    /// Button presses sent, and those answered (answerCallbackQuery).
    pub presses: (usize, usize),
    /// Outbox rows per state.
    pub outbox: BTreeMap<String, usize>,
    /// Failed rows without a reason.
    pub failed_without_reason: usize,
    /// Rows recorded sent whose message the platform does not have.
    pub sent_not_delivered: Vec<String>,
    /// Deliveries beyond one per sent row, counted apart: those made by a send in flight at a
    /// kill -9 or during a SIGSTOP (unknowable), and the others.
    pub dup_in_flight: usize,
    /// Duplicated deliveries not explained by a fault.
    pub dup_beyond: Vec<String>,
    /// Per unknowable fault: duplicates attributed to it, and the sends the platform accepted
    /// in the second before it (all instances: an upper bound of those in flight).
    pub in_flight_per_fault: Vec<(usize, usize)>,
    /// Platform messages matching no outbox row at all.
    pub unexplained: Vec<String>,
    /// Bot answers written while an operator held the conversation.
    pub bot_after_claim: Vec<String>,
    /// Bot answers written while a claim was being committed, or within the clocks' margin
    /// of its confirmation (not a goal: which came first cannot be told from the store).
    pub racing_claim: Vec<String>,
    /// Bot replies to 👍/👎 presses while an operator held the conversation (not a goal).
    pub feedback_after_claim: usize,
    /// Channel cursors: (channel, what the store holds, what it should reach, gap).
    pub cursors: Vec<(String, String, String, bool)>,
    /// Operator replies: confirmed by the API, stored, delivered to the right citizen once.
    pub operator_replies: (usize, usize, usize),
    /// Operator replies missing, delivered to another citizen, or twice.
    pub operator_problems: Vec<String>,
    /// Telegram latencies, platform message to reply: (seconds since start, latency,
    /// inside a fault window).
    pub latencies: Vec<(f64, f64, bool)>,
    /// Seconds since the start of every platform delivery (Telegram), for the plot.
    pub deliveries: Vec<f64>,
    /// Web chat posts given up.
    pub webchat_given_up: u64,
}

impl Findings {
    /// Whether the counted goals hold.
    pub fn counts_hold(&self) -> bool {
        self.drained
            && self.lost.is_empty()
            && self.stored_twice == 0
            && self.no_outcome == 0
            && self.several_outcomes.is_empty()
            && self.failed_without_reason == 0
            && self.sent_not_delivered.is_empty()
            && self.dup_beyond.is_empty()
            && self.unexplained.is_empty()
            && self.bot_after_claim.is_empty()
            && !self.cursors.iter().any(|c| c.3)
            && self.operator_problems.is_empty()
            && self.presses.0 == self.presses.1
            && self.webchat_given_up == 0
            && self.outbox.get("pending").copied().unwrap_or(0) == 0
            && self.outbox.get("sending").copied().unwrap_or(0) == 0
    }
}

/// An outbox row.
struct Row_ {
    conversation: i64,
    channel: String,
    recipient: String,
    text: String,
    state: String,
    last_error: Option<String>,
    platform_ref: Option<String>,
    reply_to: Option<String>,
    author: String,
    created_at: i64,
}

/// Reads the store and the doubles.
pub async fn check(run: &Run, database: &Database, drained: bool) -> Result<Findings> {
    let mut f = Findings {
        drained,
        webchat_given_up: run.webchat_given_up.load(Ordering::SeqCst),
        ..Findings::default()
    };
    let pool = database.pool().await?;
    let sent = run.sent.lock().unwrap().clone();
    let faults = run.faults.lock().unwrap().clone();
    for s in &sent {
        *f.by_kind.entry(s.kind.name()).or_default() += 1;
    }

    // Inbound.
    let rows = sqlx::query(
        "select channel, platform_id, decision, reason from messages where direction = 'in'",
    )
    .fetch_all(&pool)
    .await?;
    let mut stored: HashMap<(String, String), (Option<String>, Option<String>)> = HashMap::new();
    let mut webchat_ids: HashSet<String> = HashSet::new();
    for r in &rows {
        let channel: String = r.try_get(0)?;
        let platform_id: Option<String> = r.try_get(1)?;
        let decision: Option<String> = r.try_get(2)?;
        let reason: Option<String> = r.try_get(3)?;
        let platform_id = platform_id.unwrap_or_default();
        *f.inbound_stored.entry(channel.clone()).or_default() += 1;
        if decision.is_none() {
            f.no_outcome += 1;
        }
        if channel == "webchat"
            && let Some((_, id)) = platform_id.rsplit_once(':')
        {
            webchat_ids.insert(id.to_string());
        }
        stored.insert((channel, platform_id), (decision, reason));
    }
    f.stored_twice = sqlx::query_scalar::<_, i64>(
        "select count(*) from (select channel, platform_id from messages where direction = 'in' \
         and platform_id is not null group by channel, platform_id having count(*) > 1) t",
    )
    .fetch_one(&pool)
    .await? as usize;
    let answered: HashSet<String> = run
        .telegram
        .callback_answers()
        .iter()
        .filter_map(|a| a["callback_query_id"].as_str().map(str::to_string))
        .collect();
    let mut distinct: HashSet<(&str, &str)> = HashSet::new();
    for s in &sent {
        if !distinct.insert((s.channel, &s.platform_id)) {
            continue;
        }
        *f.inbound_sent.entry(s.channel.to_string()).or_default() += 1;
        let found = if let Some(cb) = s.platform_id.strip_prefix("cb:") {
            f.presses.0 += 1;
            let ok = answered.contains(cb);
            f.presses.1 += usize::from(ok);
            ok
        } else if s.channel == "webchat" {
            webchat_ids.contains(&s.platform_id)
        } else {
            stored.contains_key(&(s.channel.to_string(), s.platform_id.clone()))
        };
        if !found {
            f.lost.push(format!("{} {}", s.channel, s.platform_id));
        }
    }

    // Outbox.
    let rows = sqlx::query(
        "select o.conversation_id, o.channel, o.recipient, o.text, o.state, o.last_error, \
         o.platform_ref, o.reply_to, m.author, o.created_at from outbox o join messages m on m.id = o.message_id",
    )
    .fetch_all(&pool)
    .await?;
    let mut outbox = Vec::new();
    for r in &rows {
        outbox.push(Row_ {
            conversation: r.try_get(0)?,
            channel: r.try_get(1)?,
            recipient: r.try_get(2)?,
            text: r.try_get(3)?,
            state: r.try_get(4)?,
            last_error: r.try_get(5)?,
            platform_ref: r.try_get(6)?,
            reply_to: r.try_get(7)?,
            author: r.try_get(8)?,
            created_at: r.try_get(9)?,
        });
    }
    let mut bot_replies: HashMap<(&str, &str), usize> = HashMap::new();
    for o in &outbox {
        *f.outbox.entry(o.state.clone()).or_default() += 1;
        if o.state == "failed" && o.last_error.as_deref().unwrap_or("").trim().is_empty() {
            f.failed_without_reason += 1;
        }
        if o.author == "bot"
            && let Some(to) = &o.reply_to
        {
            *bot_replies.entry((&o.channel, to)).or_default() += 1;
        }
    }
    for ((channel, to), n) in &bot_replies {
        if *n > 1 && !to.starts_with("cb:") {
            f.several_outcomes
                .push(format!("{channel} {to}: {n} bot replies"));
        }
    }

    // Telegram: what the platform has against what the store says was sent.
    let delivered = run.telegram.sent();
    let mut by_ref: HashMap<(i64, i64), usize> = HashMap::new();
    for (k, m) in delivered.iter().enumerate() {
        by_ref.insert((m.chat_id, m.message_id), k);
        f.deliveries.push(run.secs(m.at));
    }
    let plain = |text: &str| {
        html::parse(text)
            .map(|p| p.text)
            .unwrap_or_else(|_| text.to_string())
    };
    let mut referenced = vec![false; delivered.len()];
    let mut expected: HashMap<(i64, String), usize> = HashMap::new();
    for o in outbox.iter().filter(|o| o.channel == "telegram") {
        let chat: i64 = o.recipient.parse().unwrap_or_default();
        if o.state == "sent" {
            *expected.entry((chat, o.text.clone())).or_default() += 1;
            match o
                .platform_ref
                .as_deref()
                .and_then(|r| r.parse::<i64>().ok())
                .and_then(|id| by_ref.get(&(chat, id)))
            {
                Some(&k) => referenced[k] = true,
                None => f
                    .sent_not_delivered
                    .push(format!("telegram chat {chat}: {:?}", o.platform_ref)),
            }
        }
    }
    let mut actual: HashMap<(i64, String), Vec<usize>> = HashMap::new();
    for (k, m) in delivered.iter().enumerate() {
        actual
            .entry((m.chat_id, plain(&m.text)))
            .or_default()
            .push(k);
    }
    let unknowable: Vec<(usize, f64, f64)> = faults
        .iter()
        .enumerate()
        .filter(|(_, x)| x.unknowable)
        .map(|(i, x)| {
            // A killed process sends nothing after the kill; a stopped one may have a request
            // on the wire the platform completes meanwhile, and another instance takes its
            // rows back once the lease expires.
            let until = if x.what.starts_with("kill") {
                x.start + 0.1
            } else {
                x.end + 0.5
            };
            (i, x.start - 1.0, until)
        })
        .collect();
    let mut attributed = vec![0usize; faults.len()];
    for ((chat, text), copies) in &actual {
        let want = expected.get(&(*chat, text.clone())).copied().unwrap_or(0);
        if want == 0 {
            // A part of a message split at 4,096 characters is the prefix of its row.
            let part = outbox.iter().any(|o| {
                o.channel == "telegram"
                    && o.recipient == chat.to_string()
                    && o.text.chars().count() > 4_000
                    && o.text.contains(text.trim())
            });
            if !part {
                f.unexplained
                    .push(format!("telegram chat {chat}: {} × {text:?}", copies.len()));
            }
            continue;
        }
        if copies.len() <= want {
            continue;
        }
        let extra = copies.len() - want;
        let mut loose: Vec<usize> = copies.iter().copied().filter(|k| !referenced[*k]).collect();
        loose.sort_by_key(|k| delivered[*k].at);
        for &k in loose.iter().take(extra) {
            let t = run.secs(delivered[k].at);
            match unknowable.iter().find(|(_, a, b)| t >= *a && t <= *b) {
                Some((i, _, _)) => {
                    attributed[*i] += 1;
                    f.dup_in_flight += 1;
                }
                None => {
                    let after = faults
                        .iter()
                        .filter(|x| x.start <= t)
                        .max_by(|a, b| a.start.total_cmp(&b.start))
                        .map(|x| format!(", {:.1} s after the start of {}", t - x.start, x.what))
                        .unwrap_or_default();
                    f.dup_beyond.push(format!(
                        "telegram chat {chat} at {t:.1} s{after}: {} copies for {want} row(s) of {:?}",
                        copies.len(),
                        text.chars().take(60).collect::<String>()
                    ))
                }
            }
        }
    }
    let calls = run.telegram.calls("sendMessage");
    for (i, x) in faults.iter().enumerate().filter(|(_, x)| x.unknowable) {
        let before = calls
            .iter()
            .filter(|c| c.status == 200)
            .filter(|c| {
                let t = run.secs(c.at);
                t >= x.start - 1.0 && t <= x.start
            })
            .count();
        f.in_flight_per_fault.push((attributed[i], before));
    }

    // X: posts and DMs against the rows.
    let posted: HashSet<String> = run.x.posted().into_iter().map(|p| p.id).collect();
    let dms: HashSet<String> = run
        .x
        .sent_dms()
        .into_iter()
        .map(|d| format!("dm:{}", d.id))
        .collect();
    let mut x_refs: HashSet<String> = HashSet::new();
    for o in outbox
        .iter()
        .filter(|o| o.channel == "x" && o.state == "sent")
    {
        match &o.platform_ref {
            Some(r) if posted.contains(r) || dms.contains(r) => {
                x_refs.insert(r.clone());
            }
            // A reply X accepted without an id to record cannot be checked.
            None => {}
            Some(r) => f.sent_not_delivered.push(format!("x {r}")),
        }
    }
    for id in posted.iter().chain(dms.iter()) {
        if !x_refs.contains(id) {
            f.dup_beyond
                .push(format!("x {id}: delivered, matching no sent row"));
        }
    }

    // No bot answer while an operator holds the conversation. A claim holds from the moment
    // the API confirmed it (its transaction committed: an intake starting later must see it)
    // until the audit time of the release, resolution or transfer that ended it (taken before
    // that commit). A bot reply written between the claim's audit time and its confirmation
    // (plus the clocks' margin) raced the claim: counted apart.
    let audit = sqlx::query(
        "select at, action, subject from audit_log where action in ('claim', 'release', 'resolve', 'transfer') order by at, id",
    )
    .fetch_all(&pool)
    .await?;
    let mut history: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
    for r in &audit {
        let at: i64 = r.try_get(0)?;
        let action: String = r.try_get(1)?;
        let subject: String = r.try_get(2)?;
        if let Some(id) = subject
            .strip_prefix("conversation:")
            .and_then(|s| s.parse::<i64>().ok())
        {
            history.entry(id).or_default().push((at, action));
        }
    }
    // (claim's audit time, confirmation, end) per conversation.
    let mut held: HashMap<i64, Vec<(i64, i64, i64)>> = HashMap::new();
    for (conversation, confirmed) in run.claims.lock().unwrap().iter() {
        let Some(events) = history.get(conversation) else {
            continue;
        };
        let Some(claimed) = events
            .iter()
            .filter(|(at, a)| a == "claim" && at <= confirmed)
            .map(|(at, _)| *at)
            .max()
        else {
            continue;
        };
        let end = events
            .iter()
            .find(|(at, a)| a != "claim" && *at > claimed)
            .map_or(i64::MAX, |(at, _)| *at);
        held.entry(*conversation)
            .or_default()
            .push((claimed, *confirmed, end));
    }
    for o in outbox.iter().filter(|o| o.author == "bot") {
        let Some(spans) = held.get(&o.conversation) else {
            continue;
        };
        let Some(&(claimed, confirmed, _)) = spans
            .iter()
            .find(|(a, _, b)| o.created_at > *a && o.created_at < *b)
        else {
            continue;
        };
        let to = o.reply_to.clone().unwrap_or_default();
        if to.starts_with("cb:") {
            f.feedback_after_claim += 1;
            continue;
        }
        let reason = stored
            .get(&(o.channel.clone(), to.clone()))
            .and_then(|(_, r)| r.clone())
            .unwrap_or_default();
        if reason == "with_operator" {
            continue;
        }
        let what = format!(
            "conversation {}: bot reply to {to} ({reason}) written {} ms after the claim began, {} ms after it was confirmed",
            o.conversation,
            o.created_at - claimed,
            o.created_at - confirmed
        );
        if o.created_at > confirmed + CLOCK_MARGIN_MS {
            f.bot_after_claim.push(what);
        } else {
            f.racing_claim.push(what);
        }
    }

    // Cursors.
    let cursors: HashMap<String, String> =
        sqlx::query("select channel, cursor from channel_cursors")
            .fetch_all(&pool)
            .await?
            .iter()
            .filter_map(|r| Some((r.try_get(0).ok()?, r.try_get(1).ok()?)))
            .collect();
    let max_update = run.max_update.load(Ordering::SeqCst);
    if max_update > 0 {
        let stored_cursor = cursors.get("telegram").cloned().unwrap_or_default();
        let value: i64 = stored_cursor.trim().parse().unwrap_or(0);
        let confirmed = run.telegram.confirmed_offset();
        let gap =
            value < max_update || confirmed < max_update + 1 || run.telegram.pending_updates() > 0;
        f.cursors.push((
            "telegram".into(),
            format!(
                "{stored_cursor} (the double: offset {confirmed} confirmed, {} pending)",
                run.telegram.pending_updates()
            ),
            format!("last update {max_update}"),
            gap,
        ));
    }
    let max_mention = sent
        .iter()
        .filter(|s| s.channel == "x" && !s.platform_id.starts_with("dm:"))
        .filter_map(|s| s.platform_id.parse::<u128>().ok())
        .max();
    if let Some(max_mention) = max_mention {
        let stored_cursor = cursors.get("x").cloned().unwrap_or_default();
        let since: u128 = stored_cursor
            .split([';', ',', ' '])
            .find_map(|p| p.strip_prefix("m:"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        f.cursors.push((
            "x".into(),
            stored_cursor,
            format!("newest mention {max_mention}"),
            since < max_mention,
        ));
    }

    // Operator replies.
    let contacts: HashMap<i64, String> = sqlx::query(
        "select c.id, k.external_id from conversations c join contacts k on k.id = c.contact_id",
    )
    .fetch_all(&pool)
    .await?
    .iter()
    .filter_map(|r| Some((r.try_get(0).ok()?, r.try_get(1).ok()?)))
    .collect();
    let replies = run.replies.lock().unwrap().clone();
    let mut marked: HashMap<String, Vec<&Row_>> = HashMap::new();
    for o in outbox.iter().filter(|o| o.author == "operator") {
        if let Some(at) = o.text.find("[soak-op") {
            let mark = o.text[at + 1..].trim_end_matches(']').to_string();
            marked.entry(mark).or_default().push(o);
        }
    }
    let mut platform_marks: HashMap<String, Vec<i64>> = HashMap::new();
    for m in &delivered {
        if let Some(at) = m.text.find("[soak-op") {
            let mark = m.text[at + 1..].split(']').next().unwrap_or("").to_string();
            platform_marks.entry(mark).or_default().push(m.chat_id);
        }
    }
    for r in &replies {
        f.operator_replies.0 += usize::from(r.confirmed);
        let rows = marked.get(&r.mark).cloned().unwrap_or_default();
        if rows.is_empty() {
            if r.confirmed {
                f.operator_problems
                    .push(format!("{}: accepted by the API, not stored", r.mark));
            }
            continue;
        }
        f.operator_replies.1 += 1;
        if rows.len() > 1 {
            f.operator_problems
                .push(format!("{}: stored {} times", r.mark, rows.len()));
        }
        let row = rows[0];
        let citizen = contacts.get(&row.conversation).cloned().unwrap_or_default();
        if row.conversation != r.conversation || row.recipient != citizen {
            f.operator_problems.push(format!(
                "{}: conversation {} to {}, the citizen is {citizen}",
                r.mark, row.conversation, row.recipient
            ));
            continue;
        }
        let ok = match row.channel.as_str() {
            "telegram" => {
                let chats = platform_marks.get(&r.mark).cloned().unwrap_or_default();
                let right = chats.iter().all(|c| c.to_string() == citizen);
                if !right {
                    f.operator_problems.push(format!(
                        "{}: delivered to chats {chats:?}, the citizen is {citizen}",
                        r.mark
                    ));
                } else if chats.is_empty() {
                    f.operator_problems
                        .push(format!("{}: not delivered ({})", r.mark, row.state));
                }
                // Twice is counted with the duplicates above.
                right && !chats.is_empty()
            }
            _ => {
                if row.state != "sent" {
                    f.operator_problems
                        .push(format!("{}: not delivered ({})", r.mark, row.state));
                }
                row.state == "sent"
            }
        };
        if ok {
            f.operator_replies.2 += 1;
        }
    }

    // Latency on Telegram: the citizen's message to the bot's reply.
    let pushed: HashMap<&str, f64> = sent
        .iter()
        .filter(|s| s.channel == "telegram" && s.kind != Kind::Repeat)
        .map(|s| (s.platform_id.as_str(), s.at))
        .collect();
    let windows: Vec<(f64, f64)> = faults
        .iter()
        .map(|x| (x.start, x.healthy_at.unwrap_or(x.end).max(x.end) + 2.0))
        .collect();
    for o in outbox
        .iter()
        .filter(|o| o.channel == "telegram" && o.author == "bot" && o.state == "sent")
    {
        let (Some(to), Some(r)) = (&o.reply_to, &o.platform_ref) else {
            continue;
        };
        let (Some(&at), Ok(chat), Ok(id)) = (
            pushed.get(to.as_str()),
            o.recipient.parse::<i64>(),
            r.parse::<i64>(),
        ) else {
            continue;
        };
        if let Some(&k) = by_ref.get(&(chat, id)) {
            let latency = run.secs(delivered[k].at) - at;
            let in_fault = windows.iter().any(|(a, b)| at >= *a && at <= *b);
            f.latencies.push((at, latency, in_fault));
        }
    }
    pool.close().await;
    Ok(f)
}
