//! Parts of the edit page: "try a question", the preview on each channel, the revisions
//! with their diffs and restore buttons.

use maud::{Markup, PreEscaped, html};
use sportello_core::store::RevisionRow;
use sportello_faq::Sheet;

use super::diff::diff;
use super::form::SheetForm;
use super::view::{Outcome, Preview, Trial};
use crate::session::Actor;
use crate::views::{csrf_field, time};

fn decision_label(d: &str) -> &'static str {
    match d {
        "answer" => "risponde con una scheda",
        "clarify" => "chiede di scegliere",
        "smalltalk" => "convenevoli",
        _ => "passa a un operatore",
    }
}

fn outcome(title: &str, o: &Outcome) -> Markup {
    html! {
        div class="card outcome" {
            h3 { (title) }
            p { strong { (decision_label(&o.decision)) } " — fiducia " (format!("{:.2}", o.confidence)) }
            ol { @for (id, name, c) in &o.candidates { li { (name) " " code { (id) } " " (format!("{c:.2}")) } } }
        }
    }
}

/// The "try a question" box, with the last result; live through htmx, a plain button without.
pub fn try_box(f: &SheetForm, trial: Option<&Trial>, action: &str) -> Markup {
    html! {
        fieldset id="try" {
            legend { "Prova una domanda" }
            label for="try_text" { "Domanda di un cittadino" }
            input id="try_text" name="try_text" value=(f.try_text)
                hx-post=(action) hx-trigger="input changed delay:400ms" hx-include="#sheet-form"
                hx-vals=r#"{"action":"try"}"# hx-select="#try-result" hx-target="#try-result" hx-swap="outerHTML";
            button type="submit" name="action" value="try" class="btn btn-outline" { "Prova" }
            div id="try-result" aria-live="polite" {
                @if let Some(t) = trial {
                    div class="columns" {
                        (outcome("Con le schede pubblicate", &t.published))
                        (outcome("Con questa versione", &t.draft))
                    }
                }
            }
        }
    }
}

/// The channel's name as editors know it.
fn channel_label(channel: &str) -> &str {
    match channel {
        "telegram" => "Telegram",
        "webchat" => "Chat del sito",
        "x" => "X",
        "email" => "Email",
        other => other,
    }
}

/// The answer as the web chat shows it: the assistant's bubble with its feedback buttons.
fn chat_bubble(text: &str) -> Markup {
    html! {
        div class="preview-chat" {
            p class="bubble" {
                span class="who" { "Assistente" }
                span class="text" { (text) }
                span class="choices" aria-hidden="true" {
                    span class="btn btn-outline" { "👍 Utile" }
                    span class="btn btn-outline" { "👎 Non utile" }
                }
            }
        }
    }
}

/// How the answer looks on each channel: the exact text the policy would send there, with
/// its length against the channel's limit where the limit is tight.
pub fn preview(s: &Sheet, previews: &[Preview]) -> Markup {
    html! {
        section id="preview" aria-labelledby="h-preview" {
            h2 id="h-preview" { "Anteprima" }
            p class="muted" { "Il testo che il cittadino riceve su ogni canale, come lo vede." }
            div class="columns preview-tabs" data-tabs="Canali" {
                @for p in previews {
                    @let len = (p.caps.length)(&p.text);
                    div class="card preview-panel" id=(format!("preview-{}", p.channel)) {
                        h3 { (channel_label(&p.channel)) }
                        @if p.channel == "webchat" {
                            (chat_bubble(&p.text))
                        } @else if p.caps.subjects {
                            p { "Oggetto: " (s.title) }
                            // Our renderer's output: every text in it is escaped (see
                            // `sportello_core::markdown`).
                            div class="email-body" { (PreEscaped(sportello_core::markdown::to_html(&p.text))) }
                        } @else {
                            p class="pre" { (p.text) }
                        }
                        @if p.caps.short_answers {
                            p id=(format!("{}-count", p.channel)) class={ "muted" @if len > p.caps.text_limit { " over" } } {
                                (len) " / " (p.caps.text_limit) " caratteri"
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Every revision, newest first, with what changed from the one before and a restore button.
/// Draft saves are revisions too, marked as such; the newest published one is what the bot
/// uses.
pub fn revisions(actor: &Actor, id: &str, revisions: &[RevisionRow]) -> Markup {
    let in_use = revisions.iter().find(|r| !r.draft).map(|r| r.revision);
    html! {
        section id="revisions" aria-labelledby="h-revisions" {
            h2 id="h-revisions" { "Revisioni" }
            @if revisions.is_empty() { p class="muted" { "Nessuna revisione salvata." } }
            ol reversed {
                @for (i, r) in revisions.iter().enumerate() {
                    li class={ "revision card" @if r.draft { " draft" } } id=(format!("rev-{}", r.revision)) {
                        p {
                            strong { "Revisione " (r.revision) }
                            @if r.draft { " (bozza)" } @else { " (pubblicata)" }
                            " — " (r.author.as_deref().unwrap_or("—")) ", " (time(r.created_at))
                            @if Some(r.revision) == in_use { " — in uso dal bot" }
                        }
                        dl class="diff" {
                            @for c in diff(revisions.get(i + 1).map(|p| &p.sheet), &r.sheet) {
                                dt { (c.label) }
                                @for l in &c.removed { dd { del { "− " (l) } } }
                                @for l in &c.added { dd { ins { "+ " (l) } } }
                            }
                        }
                        @if i > 0 {
                            form method="post" action=(format!("/sheets/{id}/restore/{}", r.revision)) {
                                (csrf_field(Some(actor)))
                                @if r.draft {
                                    button type="submit" class="btn btn-outline" { "Riprendi come bozza la revisione " (r.revision) }
                                } @else {
                                    button type="submit" class="btn btn-outline" { "Ripristina la revisione " (r.revision) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
