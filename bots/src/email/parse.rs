//! One email, from its raw bytes to what the channel needs: sender, subject, text (full and
//! without quoted history), attachments, thread references, and whether it may be answered.
//!
//! Never panics on bad input: an unparseable message still yields a `Mail` whose text says so.

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

use super::rules::{self, Bounce};
use super::text::{html_to_text, safe_file_name, strip_quoted};

/// An attachment, with its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Sanitised file name.
    pub name: String,
    /// MIME type.
    pub mime: String,
    /// The bytes.
    pub data: Vec<u8>,
}

/// What a PEC message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pec {
    /// A certified message: the citizen's mail is inside.
    Message,
    /// A receipt (`X-Ricevuta`: acceptance, delivery, error…), never answered.
    Receipt(String),
}

/// A parsed email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The Message-ID without angle brackets, or `sha256:…` of the bytes.
    pub platform_id: String,
    /// The sender's address, lower case; empty when missing.
    pub from_address: String,
    /// The sender's name, or the address.
    pub from_name: String,
    /// The subject, when there is one.
    pub subject: Option<String>,
    /// Message-IDs this mail answers: In-Reply-To first, then References from the newest.
    pub references: Vec<String>,
    /// The whole text, quoted history included.
    pub text: String,
    /// The citizen's own words, for matching.
    pub reply_text: String,
    /// Attachments, inline images included.
    pub attachments: Vec<Part>,
    /// Why this mail must not be answered automatically (RFC 3834 and friends).
    pub no_reply: Option<&'static str>,
    /// A delivery-status report.
    pub bounce: Option<Bounce>,
    /// The PEC envelope, when there is one.
    pub pec: Option<Pec>,
    /// What was wrong with the message, for the log: `no_message_id`, `no_sender`,
    /// `encoding`, `unreadable`.
    pub problems: Vec<&'static str>,
}

/// Parse `raw`; `office` is the office's own address (mail from it is never answered).
pub fn parse(raw: &[u8], office: &str) -> Mail {
    let Some(outer) = MessageParser::default().parse(raw) else {
        return unreadable(raw);
    };
    let pec = rules::pec_kind(&outer);
    // A certified message carries the citizen's mail as postacert.eml.
    let inner = match pec {
        Some(Pec::Message) => rules::pec_inner(&outer),
        _ => None,
    };
    let msg = inner.unwrap_or(&outer);
    let (from_address, from_name) = sender(msg);
    let subject = msg.subject().map(super::text::header_safe);
    let mut references: Vec<String> = ids(msg.in_reply_to());
    let mut refs = ids(msg.references());
    refs.reverse();
    for r in refs {
        if !references.contains(&r) {
            references.push(r);
        }
    }
    references.truncate(20);

    let text = body_text(msg);
    let mut attachments = Vec::new();
    collect_attachments(msg, &mut attachments);
    if inner.is_some() {
        // The envelope is kept: daticert.xml, the signature and postacert.eml itself.
        collect_attachments(&outer, &mut attachments);
    }
    let bounce = rules::bounce(&outer);
    let no_reply = match &pec {
        Some(Pec::Receipt(_)) => Some("pec_receipt"),
        _ => bounce
            .as_ref()
            .map(|_| "bounce")
            .or_else(|| rules::no_reply_reason(&outer, &from_address, office)),
    };
    let mut problems = Vec::new();
    if outer.message_id().is_none() {
        problems.push("no_message_id");
    }
    if from_address.is_empty() {
        problems.push("no_sender");
    }
    if outer.parts.iter().any(|p| p.is_encoding_problem) {
        problems.push("encoding");
    }
    Mail {
        platform_id: platform_id(outer.message_id(), raw),
        from_name: if from_name.is_empty() {
            from_address.clone()
        } else {
            from_name
        },
        from_address,
        subject,
        references,
        reply_text: strip_quoted(&text),
        text,
        attachments,
        no_reply,
        bounce,
        pec,
        problems,
    }
}

/// The platform id: the Message-ID, or a stable hash of the bytes.
pub fn platform_id(message_id: Option<&str>, raw: &[u8]) -> String {
    match message_id.map(|m| m.trim().trim_matches(['<', '>'])) {
        Some(id) if !id.is_empty() && id.len() <= 500 => super::text::header_safe(id),
        _ => {
            // The first 128 bits of the digest are plenty to tell messages apart.
            format!("sha256:{}", &sportello_core::secret::sha256_hex(raw)[..32])
        }
    }
}

fn unreadable(raw: &[u8]) -> Mail {
    let text = "[messaggio email illeggibile: conservato per gli operatori]".to_string();
    Mail {
        platform_id: platform_id(None, raw),
        from_address: String::new(),
        from_name: "?".into(),
        subject: None,
        references: Vec::new(),
        reply_text: String::new(),
        text,
        attachments: vec![Part {
            name: "messaggio.eml".into(),
            mime: "message/rfc822".into(),
            data: raw.to_vec(),
        }],
        no_reply: Some("unreadable"),
        bounce: None,
        pec: None,
        problems: vec!["unreadable"],
    }
}

fn sender(msg: &Message<'_>) -> (String, String) {
    let addr = msg
        .from()
        .or_else(|| msg.sender())
        .or_else(|| msg.reply_to())
        .and_then(|a| a.first());
    let address = addr
        .and_then(|a| a.address())
        .map(|a| super::text::header_safe(a).to_lowercase())
        .filter(|a| a.contains('@'))
        .unwrap_or_default();
    let name = addr
        .and_then(|a| a.name())
        .map(super::text::header_safe)
        .unwrap_or_default();
    (address, name)
}

fn ids(value: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    let list: Vec<&str> = match value {
        mail_parser::HeaderValue::Text(t) => vec![t.as_ref()],
        mail_parser::HeaderValue::TextList(l) => l.iter().map(|t| t.as_ref()).collect(),
        _ => Vec::new(),
    };
    list.into_iter()
        .map(|id| super::text::header_safe(id.trim_matches(['<', '>', ' '])))
        .filter(|id| !id.is_empty())
        .collect()
}

/// text/plain when there is one, otherwise the HTML as text.
fn body_text(msg: &Message<'_>) -> String {
    let plain: Vec<String> = msg
        .text_bodies()
        .filter_map(|p| match &p.body {
            PartType::Text(t) => Some(t.to_string()),
            _ => None,
        })
        .collect();
    let text = if !plain.is_empty() {
        plain.join("\n")
    } else {
        msg.html_bodies()
            .filter_map(|p| match &p.body {
                PartType::Html(h) => Some(html_to_text(h)),
                PartType::Text(t) => Some(t.to_string()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let text = text.replace("\r\n", "\n").replace('\0', "\u{2400}");
    text.trim().to_string()
}

fn collect_attachments(msg: &Message<'_>, out: &mut Vec<Part>) {
    for part in msg.attachments() {
        let mime = part
            .content_type()
            .map(|c| match c.subtype() {
                Some(sub) => format!("{}/{}", c.ctype(), sub),
                None => c.ctype().to_string(),
            })
            .unwrap_or_else(|| "application/octet-stream".into())
            .to_ascii_lowercase();
        let fallback = if part.is_message() {
            "messaggio.eml".to_string()
        } else {
            part.content_id()
                .map(|cid| format!("inline-{cid}"))
                .unwrap_or_else(|| "allegato".into())
        };
        out.push(Part {
            name: safe_file_name(part.attachment_name().unwrap_or(&fallback)),
            mime: super::text::header_safe(&mime),
            data: part.contents().to_vec(),
        });
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
