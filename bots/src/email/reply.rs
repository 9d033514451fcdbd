//! The email a reply becomes: threaded headers, plain text and escaped HTML, the office's
//! signature. Every value from a citizen goes through `header_safe` or lettre's encoders, so
//! a name or subject carrying CR/LF cannot add headers.

use lettre::Message;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};

use super::text::{header_safe, reply_subject};

/// `Auto-Submitted: auto-replied` (RFC 3834), on the bot's answers only.
#[derive(Debug, Clone, Copy)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-replied".into())
    }
}

/// What a reply needs beyond the outbox row.
pub struct Sender<'a> {
    /// The office's address.
    pub address: &'a str,
    /// Its display name.
    pub name: &'a str,
    /// Signature appended to the text.
    pub signature: &'a str,
}

/// One reply to build.
#[derive(Clone, Copy)]
pub struct Reply<'a> {
    /// Outbox row id: the Message-ID is derived from it, so a retry sends the same one.
    pub outbox_id: i64,
    /// Recipient address.
    pub to: &'a str,
    /// The subject of the conversation.
    pub subject: Option<&'a str>,
    /// The Message-ID answered (without angle brackets).
    pub in_reply_to: Option<&'a str>,
    /// The text.
    pub text: &'a str,
    /// The bot's answer (gets `Auto-Submitted`), not an operator's reply.
    pub automatic: bool,
    /// 👍/👎 links: (label, address) pairs shown under the answer.
    pub feedback: &'a [(String, String)],
}

/// The Message-ID of an outbox row's email, without angle brackets.
pub fn message_id(outbox_id: i64, office: &str) -> String {
    let domain = office.rsplit('@').next().unwrap_or("localhost");
    format!("sportello.{outbox_id}@{}", header_safe(domain))
}

/// Build the email; `Err` names what is wrong (a recipient that is not an address).
pub fn build(sender: &Sender<'_>, reply: &Reply<'_>) -> Result<Message, String> {
    let from_address = sender
        .address
        .parse()
        .map_err(|e| format!("email.address: {e}"))?;
    let from = Mailbox::new(Some(header_safe(sender.name)), from_address);
    let to: Mailbox = header_safe(reply.to)
        .parse()
        .map_err(|e| format!("recipient {:?}: {e}", reply.to))?;
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(reply_subject(reply.subject))
        .message_id(Some(format!(
            "<{}>",
            message_id(reply.outbox_id, sender.address)
        )));
    // A message without a Message-ID has a hash for platform id: nothing to thread on.
    if let Some(parent) = reply
        .in_reply_to
        .map(header_safe)
        .filter(|p| !p.is_empty() && !p.starts_with("sha256:"))
    {
        builder = builder
            .in_reply_to(format!("<{parent}>"))
            .references(format!("<{parent}>"));
    }
    if reply.automatic {
        builder = builder.header(AutoSubmitted);
    }
    let mut text = reply.text.trim_end().to_string();
    if !reply.feedback.is_empty() {
        text.push('\n');
        for (label, url) in reply.feedback {
            text.push_str(&format!("\n{}: {url}", header_safe(label)));
        }
    }
    if !sender.signature.trim().is_empty() {
        text.push_str("\n\n-- \n");
        text.push_str(sender.signature.trim());
    }
    let html = html_part(&text);
    builder
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(text),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html),
                ),
        )
        .map_err(|e| e.to_string())
}

/// The HTML part: the text rendered as Markdown (escaped, safe links only, line breaks kept),
/// the same HTML the sheet preview shows editors.
fn html_part(text: &str) -> String {
    format!(
        "<!DOCTYPE html><html><body><div style=\"font-family:sans-serif\">{}</div></body></html>",
        sportello_core::markdown::to_html(text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender() -> Sender<'static> {
        Sender {
            address: "urp@comune.test",
            name: "URP\r\nBcc: x@evil.test",
            signature: "Ufficio Relazioni con il Pubblico",
        }
    }

    fn headers(raw: &str) -> &str {
        raw.split("\r\n\r\n").next().unwrap()
    }

    #[test]
    fn a_bot_answer_is_threaded_and_marked_automatic() {
        let reply = Reply {
            outbox_id: 42,
            to: "mario@example.org",
            subject: Some("Re: RE: Orari <anagrafe>"),
            in_reply_to: Some("abc@example.org"),
            text: "Apre alle 9 & chiude alle 12: https://comune.test/orari",
            automatic: true,
            feedback: &[(
                "👍 Utile".into(),
                "https://urp.test/feedback/email/t/si".into(),
            )],
        };
        let raw = String::from_utf8(build(&sender(), &reply).unwrap().formatted()).unwrap();
        let h = headers(&raw);
        assert!(h.contains("Subject: Re: Orari <anagrafe>"), "{h}");
        assert!(h.contains("Message-ID: <sportello.42@comune.test>"), "{h}");
        assert!(h.contains("In-Reply-To: <abc@example.org>"), "{h}");
        assert!(h.contains("References: <abc@example.org>"), "{h}");
        assert!(h.contains("Auto-Submitted: auto-replied"), "{h}");
        assert!(!h.contains("Bcc"), "{h}");
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("9 &amp; chiude"));
        assert!(
            raw.contains("<a href=3D\"https://comune.test/orari\">")
                || raw.contains("<a href=\"https://comune.test/orari\">")
        );
        assert!(raw.contains("Ufficio Relazioni con il Pubblico"));
        assert!(raw.contains("https://urp.test/feedback/email/t/si"));
    }

    #[test]
    fn the_html_part_renders_a_sheets_markdown_and_escapes_markup() {
        let html =
            html_part("Serve:\n\n- un documento\n- la **ricevuta** <b>\n\nhttps://comune.test/p");
        assert!(html.contains("<li>un documento</li>"), "{html}");
        assert!(
            html.contains("<strong>ricevuta</strong> &lt;b&gt;"),
            "{html}"
        );
        assert!(
            html.contains(r#"<a href="https://comune.test/p">https://comune.test/p</a>"#),
            "{html}"
        );
    }

    #[test]
    fn an_operator_reply_is_not_marked_automatic_and_injection_fails() {
        let reply = Reply {
            outbox_id: 7,
            to: "mario@example.org",
            subject: Some("Orari\r\nBcc: victim@example.org"),
            in_reply_to: Some("x@y\r\nBcc: v@w"),
            text: "Buongiorno",
            automatic: false,
            feedback: &[],
        };
        let raw = String::from_utf8(build(&sender(), &reply).unwrap().formatted()).unwrap();
        let h = headers(&raw);
        assert!(!h.contains("Auto-Submitted"), "{h}");
        assert!(!h.lines().any(|l| l.starts_with("Bcc")), "{h}");
        assert!(
            build(
                &sender(),
                &Reply {
                    to: "a@b\r\nBcc: c@d",
                    ..reply
                }
            )
            .is_err()
                || !String::from_utf8(
                    build(
                        &sender(),
                        &Reply {
                            to: "a@b\r\nBcc: c@d",
                            ..reply
                        }
                    )
                    .unwrap()
                    .formatted()
                )
                .unwrap()
                .lines()
                .any(|l| l.starts_with("Bcc"))
        );
        assert_eq!(message_id(7, "urp@comune.test"), "sportello.7@comune.test");
    }
}
