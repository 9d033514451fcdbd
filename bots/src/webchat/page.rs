//! The chat's HTML, with maud: every value spliced into markup is escaped, so nothing a
//! citizen (or an operator) wrote can become markup. The look is the console's (Bootstrap
//! Italia's colours and type, `/assets/console.css`) plus a few rules of `/chat/chat.css`.

use maud::{DOCTYPE, Markup, html};
use sportello_core::config::SiteConfig;
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
                    // The live region is a wrapper: `role="log"` on the list itself would take
                    // its list semantics away from its items.
                    div class="chat-log-region" role="log" aria-live="polite" aria-label="Conversazione" {
                        ol id="transcript" class="chat-log" data-live="off" {
                            li class="bubble bubble-bot" data-welcome {
                                span class="who" { "Assistente" }
                                p class="text" { (text.welcome) }
                            }
                            (entries_html(csrf, entries))
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
                }
                (footer(text.site))
            }
        }
    }
}

/// The transcript's items: what `/chat/transcript` returns as HTML.
pub fn entries_html(csrf: &str, entries: &[TranscriptEntry]) -> Markup {
    html! {
        @for entry in entries {
            li class={ "bubble bubble-" (entry.author) } data-id=(entry.id) {
                span class="who" { (signature(entry)) }
                p class="text" { (entry.text) }
                @if !entry.buttons.is_empty() {
                    div class="choices" role="group" aria-label="Scelte" {
                        @for b in &entry.buttons {
                            form method="post" action="/chat/messages" {
                                input type="hidden" name="csrf" value=(csrf);
                                input type="hidden" name="data" value=(b.data.to_string());
                                input type="hidden" name="label" value=(b.label);
                                button type="submit" class="btn btn-outline" data-data=(b.data.to_string()) { (b.label) }
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
/// apply (pressing one would only get the polite "no longer valid" notice).
pub fn current_buttons_only(entries: &mut [TranscriptEntry]) {
    let last_citizen = entries.iter().rposition(|e| e.author == "citizen");
    if let Some(last) = last_citizen {
        for e in &mut entries[..last] {
            e.buttons.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sportello_core::model::Button;
    use sportello_core::protocol::ButtonData;

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
        )
        .into_string();
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>"));
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
