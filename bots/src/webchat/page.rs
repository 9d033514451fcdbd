//! The chat's HTML, with maud: every value spliced into markup is escaped, so nothing a
//! citizen (or an operator) wrote can become markup. The look is the console's (Bootstrap
//! Italia's colours and type, `/assets/console.css`) plus a few rules of `/chat/chat.css`.

use maud::{DOCTYPE, Markup, html};
use sportello_core::config::SiteConfig;
use sportello_core::protocol::ButtonData;
use sportello_core::store::TranscriptEntry;

/// What the page shows around the transcript.
pub struct PageText<'a> {
    /// Heading.
    pub title: &'a str,
    /// Sentence under the heading.
    pub intro: &'a str,
    /// The bot's welcome, shown first and not stored.
    pub welcome: &'a str,
    /// Longest message, in characters.
    pub text_limit: usize,
    /// The body named in the header, and the footer's links.
    pub site: &'a SiteConfig,
    /// The box where the citizen may leave an email address: heading, privacy notice, and
    /// the privacy notice's address.
    pub reach_title: &'a str,
    /// The short privacy notice of that box.
    pub reach_notice: &'a str,
    /// The full privacy notice.
    pub privacy_url: &'a str,
    /// The accessible name of the one-star rating button.
    pub rating_star: &'a str,
    /// The accessible name of the other rating buttons (`{n}` stars).
    pub rating_stars: &'a str,
    /// The heading of the box with the personal resume link.
    pub resume_title: &'a str,
    /// The sentence above that link (its days written in).
    pub resume_notice: &'a str,
    /// The citizen's personal link back to this conversation, when links are made.
    pub resume_link: Option<String>,
}

/// A piece of a message: text, or a link shown as its domain.
enum Piece<'a> {
    Text(&'a str),
    Link { href: &'a str, domain: &'a str },
}

/// Split a message into text and `http(s)://` links; trailing punctuation stays text.
fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = ["https://", "http://"]
        .iter()
        .filter_map(|scheme| rest.find(scheme))
        .min()
    {
        let tail = &rest[start..];
        let end = tail.find(char::is_whitespace).unwrap_or(tail.len());
        let href = tail[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '"', '\'']);
        let after_scheme = &href[href.find("//").map_or(0, |i| i + 2)..];
        let domain = after_scheme
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default();
        if domain.is_empty() {
            out.push(Piece::Text(&rest[..start + end]));
            rest = &rest[start + end..];
            continue;
        }
        if start > 0 {
            out.push(Piece::Text(&rest[..start]));
        }
        out.push(Piece::Link { href, domain });
        rest = &rest[start + href.len()..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

/// A message's text with its links clickable, each shown as its domain.
fn linked(text: &str) -> Markup {
    html! {
        @for piece in pieces(text) {
            @match piece {
                Piece::Text(t) => (t),
                Piece::Link { href, domain } => a href=(href) rel="noopener" target="_blank" { (domain) },
            }
        }
    }
}

/// Bootstrap Italia's header: the administration, then the office. The console's pages have
/// the same (`console/src/views/layout.rs`), with their navigation.
fn header(site: &SiteConfig) -> Markup {
    html! {
        header class="it-header" {
            div class="it-header-slim-wrapper" {
                div class="wrap" {
                    @if site.body_url.is_empty() {
                        span class="it-body" { (site.body_name) }
                    } @else {
                        a class="it-body" href=(site.body_url) { (site.body_name) }
                    }
                }
            }
            div class="it-header-center-wrapper" {
                div class="wrap" { span class="brand" { (site.office_name) } }
            }
        }
    }
}

/// The footer with the links every public administration's site carries.
fn footer(site: &SiteConfig) -> Markup {
    html! {
        footer class="it-footer" {
            div class="it-footer-small-prints" {
                div class="wrap" {
                    p class="it-footer-body" { (site.body_name) " — " (site.office_name) }
                    ul aria-label="Collegamenti utili" {
                        li { a href=(site.privacy_url) { "Informativa privacy" } }
                        li { a href=(site.legal_notes_url) { "Note legali" } }
                        li { a href=(site.accessibility_url) { "Dichiarazione di accessibilità" } }
                    }
                }
            }
        }
    }
}

/// The accessible name of a rating button, from its data (`rate:CONVERSATION:SCORE`).
fn rating_name(data: &str, star: &str, stars: &str) -> Option<String> {
    let score = data.strip_prefix("rate:")?.rsplit(':').next()?;
    Some(if score == "1" {
        star.to_string()
    } else {
        stars.replace("{n}", score)
    })
}

/// The whole chat page.
pub fn page(text: &PageText<'_>, csrf: &str, entries: &[TranscriptEntry]) -> Markup {
    html! {
        (DOCTYPE)
        html lang="it" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="csrf-token" content=(csrf);
                title { (text.title) }
                link rel="stylesheet" href="/assets/console.css";
                link rel="stylesheet" href="/chat/chat.css";
                script src="/chat/chat.js" defer {}
            }
            body class="chat-body" {
                a class="skip" href="#chat-text" { "Vai alla casella del messaggio" }
                (header(text.site))
                main id="main" class="wrap chat" {
                    h1 { (text.title) }
                    p class="chat-intro" { (text.intro) }
                    // `role="log"` belongs on a container, not on the list itself.
                    div class="chat-log-region" role="log" aria-live="polite" aria-label="Conversazione" {
                        ol id="transcript" class="chat-log" data-live="off"
                            data-star=(text.rating_star) data-stars=(text.rating_stars) {
                            li class="bubble bubble-bot" data-welcome {
                                span class="who" { "Assistente" }
                                p class="text" { (linked(text.welcome)) }
                            }
                            (entries_html(csrf, entries, text.rating_star, text.rating_stars))
                        }
                    }
                    p id="chat-notice" class="chat-notice" role="status" aria-live="polite" {}
                    form id="chat-form" class="chat-form" method="post" action="/chat/messages" {
                        input type="hidden" name="csrf" value=(csrf);
                        label for="chat-text" { "Il tuo messaggio" }
                        textarea id="chat-text" name="text" rows="3" required
                            maxlength=(text.text_limit) aria-describedby="chat-help" {}
                        p id="chat-help" class="chat-help" {
                            "Premi Invio per inviare, Maiusc+Invio per andare a capo."
                        }
                        button id="chat-send" type="submit" class="btn" { "Invia" }
                    }
                    (reach_form(text, csrf))
                    @if let Some(link) = &text.resume_link {
                        (resume_box(text, link))
                    }
                }
                (footer(text.site))
            }
        }
    }
}

/// The box where the citizen may leave an email address and a phone number for the reply,
/// with the short privacy notice; closed until opened, so it does not crowd the chat.
fn reach_form(text: &PageText<'_>, csrf: &str) -> Markup {
    html! {
        details class="chat-reach" id="chat-reach" {
            summary { (text.reach_title) }
            form id="reach-form" method="post" action="/chat/contact" {
                input type="hidden" name="csrf" value=(csrf);
                p class="chat-help" id="reach-notice" {
                    (text.reach_notice) " "
                    a href=(text.privacy_url) rel="noopener" target="_blank" { "Informativa privacy" }
                }
                label for="reach-email" { "Email" }
                input id="reach-email" name="email" type="email" autocomplete="email" required
                    maxlength="254" aria-describedby="reach-notice";
                label for="reach-phone" { "Telefono (facoltativo)" }
                input id="reach-phone" name="phone" type="tel" autocomplete="tel" maxlength="20";
                p class="chat-consent" {
                    input id="reach-consent" name="consent" type="checkbox" value="yes" required;
                    " "
                    label for="reach-consent" { "Ho letto l'informativa privacy" }
                }
                button id="reach-save" type="submit" class="btn btn-outline" { "Salva i contatti" }
            }
        }
    }
}

/// The box with the citizen's personal link back to the conversation, to copy and keep.
fn resume_box(text: &PageText<'_>, link: &str) -> Markup {
    html! {
        details class="chat-reach" id="chat-resume" {
            summary { (text.resume_title) }
            p class="chat-help" id="resume-notice" { (text.resume_notice) }
            label for="resume-link" { "Il tuo link personale" }
            input id="resume-link" type="text" readonly value=(link)
                aria-describedby="resume-notice";
        }
    }
}

/// A page of its own with one message, in the chat's look, and a way to start a new
/// conversation: what a refused resume link shows.
pub fn notice_page(site: &SiteConfig, title: &str, message: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="it" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href="/assets/console.css";
                link rel="stylesheet" href="/chat/chat.css";
            }
            body class="chat-body" {
                (header(site))
                main id="main" class="wrap chat" {
                    h1 { (title) }
                    p class="chat-intro" id="resume-refused" { (message) }
                    p { a class="btn" href="/chat" { "Inizia una nuova conversazione" } }
                }
                (footer(site))
            }
        }
    }
}

/// The transcript's items: what `/chat/transcript` returns as HTML.
pub fn entries_html(csrf: &str, entries: &[TranscriptEntry], star: &str, stars: &str) -> Markup {
    html! {
        @for entry in entries {
            li class={ "bubble bubble-" (entry.author) } data-id=(entry.id) {
                span class="who" { (signature(entry)) }
                p class="text" { (linked(&entry.text)) }
                @if !entry.buttons.is_empty() {
                    div class="choices" role="group" aria-label="Scelte" {
                        @for b in &entry.buttons {
                            form method="post" action="/chat/messages" {
                                input type="hidden" name="csrf" value=(csrf);
                                input type="hidden" name="data" value=(b.data.to_string());
                                input type="hidden" name="label" value=(b.label);
                                button type="submit" class="btn btn-outline" data-data=(b.data.to_string())
                                    aria-label=[rating_name(&b.data.to_string(), star, stars)] { (b.label) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Who wrote a message, as the citizen reads it: an operator's own name for citizens
/// when they chose one.
pub fn signature(entry: &TranscriptEntry) -> &str {
    match (&entry.signature, entry.author.as_str()) {
        (Some(name), "operator") => name,
        _ => who(&entry.author),
    }
}

/// Who wrote a message, as the citizen reads it.
pub fn who(author: &str) -> &'static str {
    match author {
        "citizen" => "Tu",
        "operator" => "Operatore",
        _ => "Assistente",
    }
}

/// Keep buttons only on the messages after the citizen's last one: earlier choices no longer
/// apply (pressing one would only get the polite "no longer valid" notice). The sheets an
/// earlier list offered stay in its text, so no "choose one" is left with nothing under it.
pub fn current_buttons_only(entries: &mut [TranscriptEntry]) {
    let last_citizen = entries.iter().rposition(|e| e.author == "citizen");
    if let Some(last) = last_citizen {
        for e in &mut entries[..last] {
            for b in e.buttons.drain(..) {
                if matches!(b.data, ButtonData::Sheet(_)) {
                    e.text.push_str(&format!("\n• {}", b.label));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sportello_core::model::Button;

    fn entry(id: i64, author: &str, text: &str, buttons: bool) -> TranscriptEntry {
        TranscriptEntry {
            id,
            outbox_id: None,
            author: author.into(),
            text: text.into(),
            buttons: if buttons {
                vec![Button::new(
                    "👍 Utile",
                    ButtonData::Feedback {
                        message: id,
                        useful: true,
                    },
                )]
            } else {
                vec![]
            },
            created_at: 0,
            signature: None,
        }
    }

    #[test]
    fn citizen_text_is_escaped() {
        let html = entries_html(
            "t",
            &[entry(1, "citizen", "<script>alert(1)</script>", false)],
            "1 stella su 5",
            "{n} stelle su 5",
        )
        .into_string();
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn links_are_clickable_shown_as_their_domain_and_open_without_an_opener() {
        let html = entries_html(
            "t",
            &[entry(
                1,
                "bot",
                "Vedi https://www.cittametropolitana.mi.it/urp/orari. Oppure <b>http://x</b>",
                false,
            )],
            "",
            "",
        )
        .into_string();
        assert!(
            html.contains(r#"<a href="https://www.cittametropolitana.mi.it/urp/orari" rel="noopener" target="_blank">www.cittametropolitana.mi.it</a>. Oppure"#),
            "{html}"
        );
        assert!(!html.contains("<b>"), "{html}");
    }

    #[test]
    fn rating_buttons_have_accessible_names() {
        assert_eq!(
            rating_name("rate:7:1", "1 stella su 5", "{n} stelle su 5").as_deref(),
            Some("1 stella su 5")
        );
        assert_eq!(
            rating_name("rate:7:4", "1 stella su 5", "{n} stelle su 5").as_deref(),
            Some("4 stelle su 5")
        );
        assert_eq!(rating_name("operator", "a", "b"), None);
    }

    #[test]
    fn an_earlier_list_keeps_its_choices_as_text() {
        let mut entries = vec![
            TranscriptEntry {
                buttons: vec![
                    Button::new("Pink Card", ButtonData::Sheet("pink-card".into())),
                    Button::new("Parla con un operatore", ButtonData::Operator),
                ],
                ..entry(1, "bot", "Scegli quella giusta:", false)
            },
            entry(2, "citizen", "c", false),
        ];
        current_buttons_only(&mut entries);
        assert_eq!(entries[0].text, "Scegli quella giusta:\n• Pink Card");
        assert!(entries[0].buttons.is_empty());
    }

    #[test]
    fn only_the_latest_replies_keep_their_buttons() {
        let mut entries = vec![
            entry(1, "citizen", "a", false),
            entry(2, "bot", "b", true),
            entry(3, "citizen", "c", false),
            entry(4, "bot", "d", true),
        ];
        current_buttons_only(&mut entries);
        assert!(entries[1].buttons.is_empty());
        assert_eq!(entries[3].buttons.len(), 1);
    }
}
