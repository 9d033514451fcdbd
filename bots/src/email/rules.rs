//! What kind of mail this is: RFC 3834 loop protection, delivery-status reports (bounces)
//! and the PEC envelope.

use mail_parser::{Message, MimeHeaders, PartType};

use super::parse::Pec;

/// A delivery-status report about a message Sportello sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    /// The Message-ID of the returned message, without angle brackets, when found.
    pub original_id: Option<String>,
    /// The recipient that failed.
    pub recipient: Option<String>,
    /// Status and diagnostic, for operators.
    pub diagnostic: String,
    /// `Action: failed` (a delay warning is not a failure).
    pub failed: bool,
}

fn raw_header<'a>(msg: &'a Message<'_>, name: &str) -> Option<&'a str> {
    msg.headers_raw()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Why `msg` must never get an automatic reply; `None` when it may.
pub fn no_reply_reason(msg: &Message<'_>, from: &str, office: &str) -> Option<&'static str> {
    if let Some(v) = raw_header(msg, "Auto-Submitted") {
        let kind = v
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if kind != "no" {
            return Some("auto_submitted");
        }
    }
    if let Some(v) = raw_header(msg, "Precedence") {
        let v = v.trim().to_ascii_lowercase();
        if matches!(v.as_str(), "bulk" | "junk" | "list") {
            return Some("precedence");
        }
    }
    if raw_header(msg, "List-Id").is_some() || raw_header(msg, "List-Unsubscribe").is_some() {
        return Some("mailing_list");
    }
    if raw_header(msg, "X-Autoreply").is_some()
        || raw_header(msg, "X-Autorespond").is_some()
        || raw_header(msg, "X-Auto-Response-Suppress").is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            v.contains("all") || v.contains("oof")
        })
    {
        return Some("autoreply");
    }
    if let Some(v) = raw_header(msg, "Return-Path")
        && v.trim().trim_matches(['<', '>']).trim().is_empty()
    {
        return Some("null_return_path");
    }
    if from.is_empty() {
        return Some("no_sender");
    }
    let local = from.split('@').next().unwrap_or("");
    let local_plain: String = local
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    if local_plain.starts_with("mailerdaemon")
        || local_plain == "postmaster"
        || local_plain.starts_with("noreply")
        || local_plain.starts_with("donotreply")
    {
        return Some("system_sender");
    }
    if from.eq_ignore_ascii_case(office) {
        return Some("own_address");
    }
    None
}

/// The delivery-status report in `msg`, when it is one (`multipart/report;
/// report-type=delivery-status`).
pub fn bounce(msg: &Message<'_>) -> Option<Bounce> {
    let root = msg.root_part().content_type()?;
    if !(root.ctype().eq_ignore_ascii_case("multipart")
        && root
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report")))
    {
        return None;
    }
    if root
        .attribute("report-type")
        .is_some_and(|t| !t.eq_ignore_ascii_case("delivery-status"))
    {
        return None;
    }
    let mut fields = String::new();
    let mut original_id = None;
    for part in &msg.parts {
        let Some(ct) = part.content_type() else {
            continue;
        };
        let sub = ct.subtype().unwrap_or("").to_ascii_lowercase();
        let ctype = ct.ctype().to_ascii_lowercase();
        match (ctype.as_str(), sub.as_str()) {
            ("message", "delivery-status") | ("message", "global-delivery-status") => {
                fields.push_str(&String::from_utf8_lossy(part.contents()));
                fields.push('\n');
            }
            ("message", "rfc822") | ("message", "global") => {
                if let PartType::Message(m) = &part.body {
                    original_id = original_id.or_else(|| m.message_id().map(str::to_string));
                }
                if original_id.is_none() {
                    original_id = message_id_line(&String::from_utf8_lossy(part.contents()));
                }
            }
            ("text", "rfc822-headers") => {
                original_id = original_id
                    .or_else(|| message_id_line(&String::from_utf8_lossy(part.contents())));
            }
            _ => {}
        }
    }
    let field = |name: &str| {
        fields.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| super::text::header_safe(v))
        })
    };
    let action = field("Action").unwrap_or_default().to_ascii_lowercase();
    let status = field("Status").unwrap_or_default();
    let diagnostic = field("Diagnostic-Code").unwrap_or_default();
    let recipient = field("Final-Recipient")
        .or_else(|| field("Original-Recipient"))
        .map(|r| r.rsplit(';').next().unwrap_or("").trim().to_lowercase());
    Some(Bounce {
        original_id: original_id.map(|id| id.trim_matches(['<', '>', ' ']).to_string()),
        recipient,
        diagnostic: super::text::header_safe(&format!("{status} {diagnostic}")),
        failed: action.is_empty() || action == "failed",
    })
}

fn message_id_line(headers: &str) -> Option<String> {
    let mut lines = headers.lines();
    while let Some(line) = lines.next() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("message-id") {
            let mut value = value.trim().to_string();
            if value.is_empty() {
                value = lines.next().unwrap_or("").trim().to_string();
            }
            return Some(value.trim_matches(['<', '>']).to_string()).filter(|v| !v.is_empty());
        }
    }
    None
}

/// The PEC envelope of `msg`, when it has one.
pub fn pec_kind(msg: &Message<'_>) -> Option<Pec> {
    if let Some(kind) = raw_header(msg, "X-Ricevuta") {
        return Some(Pec::Receipt(super::text::header_safe(kind)));
    }
    let transport = raw_header(msg, "X-Trasporto")?.trim().to_ascii_lowercase();
    match transport.as_str() {
        "posta-certificata" => Some(Pec::Message),
        // "errore": an anomaly notice from the provider, never answered.
        other => Some(Pec::Receipt(other.to_string())),
    }
}

/// The citizen's message inside a certified message (`postacert.eml`).
pub fn pec_inner<'a>(msg: &'a Message<'a>) -> Option<&'a Message<'a>> {
    let mut fallback = None;
    for part in msg.attachments() {
        if let PartType::Message(inner) = &part.body {
            if part
                .attachment_name()
                .is_some_and(|n| n.eq_ignore_ascii_case("postacert.eml"))
            {
                return Some(inner);
            }
            fallback = fallback.or(Some(inner));
        }
    }
    fallback
}
