//! The conversation page's tools: reply box (with sheet answers and canned replies), internal
//! notes, transfer to an office, "teach the bot", the citizen's other conversations.

use maud::{Markup, html};
use sportello_core::model::ConversationStatus;

use super::{channel_label, csrf_field, time};
use crate::conversations::Loaded;
use crate::session::Actor;

/// The reply box, pinned at the bottom of the page, with the channel's length guide and two
/// ways to fill it: a sheet's answer or a canned reply, inserted where the cursor is by the
/// page's script, or (without it) by posting the text typed so far, which comes back kept.
pub fn reply(actor: &Actor, l: &Loaded, draft: &str) -> Markup {
    let id = l.conversation.id;
    let channel = channel_label(&l.conversation.channel);
    let insert_action = format!("/conversations/{id}/insert");
    html! {
        section class="card reply-box" id="reply" aria-labelledby="reply-title" {
            h2 id="reply-title" { "Rispondi su " (channel) }
            form method="post" action=(format!("/conversations/{id}/reply")) id="reply-form"
                data-snippets=(format!("/conversations/{id}/snippet")) {
                (csrf_field(Some(actor)))
                div class="inline insert-tools" {
                    div class="field" {
                        label for="insert" { "Risposta di una scheda" }
                        select id="insert" name="insert" {
                            @for s in &l.sheets {
                                option value=(s.id) selected[l.best_sheet.as_deref() == Some(s.id.as_str())] { (s.title) }
                            }
                        }
                    }
                    button type="submit" class="btn btn-outline" id="insert-sheet" name="kind" value="sheet"
                        formaction=(insert_action) formnovalidate data-insert="insert" { "Inserisci" }
                    @if !l.canned.is_empty() {
                        div class="field" {
                            label for="canned" { "Risposta predefinita" }
                            select id="canned" name="canned" {
                                @for (i, c) in l.canned.iter().enumerate() {
                                    option value=(i) { (c.chars().take(70).collect::<String>()) }
                                }
                            }
                        }
                        button type="submit" class="btn btn-outline" id="insert-canned" name="kind" value="canned"
                            formaction=(insert_action) formnovalidate data-insert="canned" { "Inserisci" }
                    }
                }
                div class="field" {
                    label for="reply-text" { "Testo della risposta" }
                    textarea id="reply-text" name="text" rows="4" data-limit=(l.limit) data-count=(if l.weighted { "x" } else { "chars" })
                        aria-describedby="reply-guide reply-count reply-keys" aria-keyshortcuts="Control+Enter" required { (draft) }
                    p class="muted" id="reply-guide" {
                        (channel) " accetta al massimo " (l.limit) " caratteri per messaggio."
                        @if l.weighted { " I link contano 23 caratteri, emoji e alcuni alfabeti 2." }
                        " Nelle risposte predefinite {nome} diventa il nome del cittadino e {rif} il numero di riferimento."
                    }
                    @if l.public {
                        p class="warning" id="reply-public" role="note" {
                            strong { "Risposta pubblica: " }
                            "il cittadino non riceve messaggi diretti su X, quindi la risposta sarà pubblicata sotto il suo post e visibile a tutti. Non scrivere dati personali."
                        }
                    }
                    p class="count" id="reply-count" aria-live="polite" {}
                }
                div class="inline" {
                    button type="submit" class="btn" id="send-reply" { "Invia risposta" }
                    p class="muted" id="reply-keys" {
                        "Scorciatoie: Ctrl+Invio invia · N prossima in coda · C prendi in carico"
                    }
                }
            }
        }
    }
}

/// Internal notes, never sent to the citizen.
pub fn notes(actor: &Actor, l: &Loaded) -> Markup {
    html! {
        section class="card note" aria-labelledby="notes-title" {
            h2 id="notes-title" { "Note interne" }
            p class="muted" { "Visibili solo agli operatori, mai inviate al cittadino." }
            ul id="notes" {
                @for n in &l.notes {
                    li { strong { (n.author) } " · " (time(n.created_at)) br; span class="text" { (n.text) } }
                }
            }
            form method="post" action=(format!("/conversations/{}/note", l.conversation.id)) {
                (csrf_field(Some(actor)))
                div class="field" {
                    label for="note-text" { "Nuova nota" }
                    textarea id="note-text" name="text" rows="3" required maxlength=(crate::actions::NOTE_LIMIT) {}
                }
                button type="submit" class="btn btn-outline" { "Aggiungi nota" }
            }
        }
    }
}

/// Transfer to an office (no office chosen in advance), and the office emails so far.
pub fn transfer(actor: &Actor, l: &Loaded) -> Markup {
    let c = &l.conversation;
    let error_of = |id: i64| {
        l.notification_errors
            .iter()
            .find(|(n, _)| *n == id)
            .map(|(_, e)| e.as_str())
    };
    html! {
        section class="card" aria-labelledby="transfer-title" {
            h2 id="transfer-title" { "Trasferisci a un ufficio" }
            @if c.status != ConversationStatus::Resolved {
                p class="muted" {
                    "La conversazione passa nella coda dell'ufficio scelto e torna da prendere in carico; "
                    "il cittadino ne riceve notizia."
                }
                form method="post" action=(format!("/conversations/{}/transfer", c.id)) {
                    (csrf_field(Some(actor)))
                    div class="field" {
                        label for="office" { "Ufficio" }
                        select id="office" name="office" required {
                            option value="" selected disabled { "— scegli un ufficio —" }
                            @for o in &l.offices {
                                @if c.office.as_deref() != Some(o.id.as_str()) {
                                    option value=(o.id) { (o.name) }
                                }
                            }
                        }
                    }
                    button type="submit" class="btn btn-outline" id="transfer-button" { "Trasferisci" }
                }
            }
            @for n in &l.notifications {
                p class="muted notification" {
                    "Email a " (n.office)
                    @if !n.recipient.is_empty() { " <" (n.recipient) ">" }
                    ": " strong { @match n.state.as_str() { "pending" => "in attesa di invio", "sent" => "inviata", _ => "non riuscita" } }
                    @if let Some(e) = error_of(n.id) { @if n.state != "sent" { " (" (e) ")" } }
                    " (" (n.created_by) ", " (time(n.created_at)) ")"
                }
            }
        }
    }
}

/// "Insegna al bot": which of the citizen's questions, in which words, answered by which
/// sheet; by default the question that caused the handoff and the bot's best sheet.
pub fn teach(actor: &Actor, l: &Loaded) -> Markup {
    let questions: Vec<_> = l
        .messages
        .iter()
        .filter(|m| m.author == "citizen")
        .filter(|m| sportello_core::store::is_question(m.decision.as_deref(), m.reason.as_deref()))
        .filter(|m| !m.text.trim().is_empty())
        .collect();
    let default = l
        .triage
        .as_ref()
        .and_then(|t| t.question_message)
        .or_else(|| questions.last().map(|m| m.id));
    let default_text = questions
        .iter()
        .find(|m| Some(m.id) == default)
        .map(|m| m.text.as_str())
        .unwrap_or("");
    let title = |id: &str| {
        l.sheets
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.title.clone())
            .unwrap_or_else(|| id.to_string())
    };
    html! {
        section class="card" aria-labelledby="teach-title" {
            h2 id="teach-title" { "Insegna al bot" }
            @if questions.is_empty() {
                p class="muted" { "Nessuna domanda del cittadino da proporre." }
            } @else {
                p class="muted" { "La domanda sarà proposta ai redattori come nuova formulazione della scheda scelta." }
                form method="post" action=(format!("/conversations/{}/teach", l.conversation.id)) {
                    (csrf_field(Some(actor)))
                    div class="field" {
                        label for="teach-message" { "Domanda del cittadino" }
                        select id="teach-message" name="message" {
                            @for m in &questions {
                                option value=(m.id) selected[Some(m.id) == default] { (m.text.chars().take(90).collect::<String>()) }
                            }
                        }
                    }
                    div class="field" {
                        label for="teach-phrasing" { "Formulazione da proporre (modificabile)" }
                        textarea id="teach-phrasing" name="phrasing" rows="2" maxlength=(crate::actions::PHRASING_LIMIT) { (default_text) }
                    }
                    div class="field" {
                        label for="teach-sheet" { "Scheda che risponde" }
                        select id="teach-sheet" name="sheet" {
                            @for s in &l.sheets {
                                option value=(s.id) selected[l.best_sheet.as_deref() == Some(s.id.as_str())] { (s.title) }
                            }
                        }
                    }
                    button type="submit" class="btn btn-outline" id="teach-button" { "Proponi" }
                }
            }
            @for p in &l.phrasings {
                p class="muted" { "Proposta per «" (title(&p.sheet_id)) "»: «" (p.text) "» (" (super::labels::phrasing(&p.state)) ")" }
            }
        }
    }
}

/// The citizen's other conversations.
pub fn others(l: &Loaded) -> Markup {
    html! {
        section class="card" aria-labelledby="others-title" {
            h2 id="others-title" { "Altre conversazioni del cittadino" }
            @if l.others.is_empty() {
                p class="muted" { "Nessuna." }
            } @else {
                ul {
                    @for o in &l.others {
                        li { a href=(format!("/conversations/{}", o.id)) { "n. " (o.id) } " · " (super::labels::status(o.status)) " · " (time(o.last_message_at)) }
                    }
                }
            }
        }
    }
}
