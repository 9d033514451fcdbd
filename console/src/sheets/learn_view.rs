//! The page of proposed phrasings and unanswered questions.

use maud::{Markup, html};
use sportello_core::store::{LearnVerdict, PhrasingRow, StoredSheet};

use super::learn::Group;
use crate::queue::encode;
use crate::session::Actor;
use crate::views::{csrf_field, page as layout, time};

fn title_of<'a>(id: &'a str, sheets: &'a [StoredSheet]) -> &'a str {
    sheets
        .iter()
        .find(|s| s.sheet.id == id)
        .map_or(id, |s| s.sheet.title.as_str())
}

/// The whole page.
pub fn page(
    actor: &Actor,
    days: i64,
    pending: &[PhrasingRow],
    groups: &[Group],
    sheets: &[StoredSheet],
    verdicts: &[LearnVerdict],
) -> Markup {
    layout(
        "Da imparare",
        Some(actor),
        html! {
            p { a href="/sheets" { "← Tutte le schede" } }
            h1 { "Da imparare" }
            section aria-labelledby="h-proposed" {
                h2 id="h-proposed" { "Frasi proposte dagli operatori" }
                @if pending.is_empty() { p class="muted" { "Nessuna frase in attesa." } }
                table id="phrasings" {
                    thead { tr { th scope="col" { "Frase" } th scope="col" { "Scheda" } th scope="col" { "Proposta da" } th scope="col" { "Quando" } th scope="col" { "Decisione" } } }
                    tbody { @for p in pending { tr {
                        td {
                            label class="visually-hidden" for=(format!("phrasing-{}", p.id)) { "Frase da approvare" }
                            input type="text" id=(format!("phrasing-{}", p.id)) name="text" value=(p.text)
                                form=(format!("approve-{}", p.id));
                        }
                        td { a href=(format!("/sheets/{}", p.sheet_id)) { (title_of(&p.sheet_id, sheets)) } }
                        td { (p.proposed_by) }
                        td { (time(p.created_at)) }
                        td class="actions" {
                            form method="post" action=(format!("/sheets/learn/phrasings/{}/approve", p.id)) id=(format!("approve-{}", p.id)) {
                                (csrf_field(Some(actor)))
                                button type="submit" class="btn" { "Approva" }
                            }
                            form method="post" action=(format!("/sheets/learn/phrasings/{}/reject", p.id)) {
                                (csrf_field(Some(actor)))
                                button type="submit" class="btn btn-outline" { "Rifiuta" }
                            }
                        }
                    } } }
                }
            }
            section aria-labelledby="h-unanswered" {
                h2 id="h-unanswered" { "Domande senza risposta" }
                form method="get" action="/sheets/learn" class="filters" {
                    label for="days" { "Ultimi giorni" }
                    input id="days" name="days" type="number" min="1" max="366" value=(days);
                    button type="submit" class="btn btn-outline" { "Mostra" }
                }
                p class="muted" { "Domande passate a un operatore perché nessuna scheda rispondeva, raggruppate per parole simili, le più frequenti prima." }
                ol id="unanswered" {
                    @for g in groups {
                        li class="card" {
                            p { strong { (g.text) } " — " (g.count) @if g.count == 1 { " volta" } @else { " volte" } }
                            @if g.examples.len() > 1 { ul { @for e in &g.examples { li { (e) } } } }
                            div class="actions" {
                                a class="btn btn-outline" href=(format!("/sheets/new?question={}", encode(&g.text))) { "Crea una scheda" }
                                form method="post" action="/sheets/learn/teach" class="filters" {
                                    (csrf_field(Some(actor)))
                                    input type="hidden" name="text" value=(g.text);
                                    label { "Aggiungi come domanda a "
                                        select name="sheet" { @for s in sheets { option value=(s.sheet.id) { (s.sheet.title) } } }
                                    }
                                    button type="submit" class="btn" { "Aggiungi" }
                                }
                                form method="post" action="/sheets/learn/verdict" {
                                    (csrf_field(Some(actor)))
                                    input type="hidden" name="question" value=(g.text);
                                    input type="hidden" name="verdict" value="dismissed";
                                    button type="submit" class="btn btn-outline" { "Ignora" }
                                }
                                details class="refer" {
                                    summary { "Non di nostra competenza…" }
                                    form method="post" action="/sheets/learn/verdict" {
                                        (csrf_field(Some(actor)))
                                        input type="hidden" name="question" value=(g.text);
                                        input type="hidden" name="verdict" value="not_ours";
                                        @let id = format!("referral-{}", crate::queue::encode(&g.text));
                                        label for=(id) { "Testo per il cittadino" }
                                        textarea id=(id) name="referral" rows="2" required maxlength=(sportello_faq::SUMMARY_MAX) placeholder="Per la raccolta rifiuti rivolgiti al Comune" {}
                                        button type="submit" class="btn" { "Segna e rispondi così" }
                                    }
                                }
                            }
                        }
                    }
                }
                @if !verdicts.is_empty() {
                    h3 id="h-verdicts" { "Domande già valutate" }
                    ul id="verdicts" {
                        @for v in verdicts {
                            li {
                                "«" (v.question) "» — "
                                @match v.verdict.as_str() {
                                    "not_ours" => { "non di nostra competenza: " (v.referral.as_deref().unwrap_or("")) }
                                    _ => { "ignorata" }
                                }
                                " (" (v.decided_by) ", " (time(v.decided_at)) ")"
                            }
                        }
                    }
                }
            }
        },
    )
}
