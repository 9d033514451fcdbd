//! The workshop's pages: the list with its filters, and the edit page (form, try a question,
//! previews, revisions — the last three in [`super::panels`]).

use std::collections::BTreeMap;

use maud::{Markup, html};
use sportello_core::store::{DraftRow, RevisionRow, StoredSheet};
use sportello_faq::{Office, SheetStatus};

use super::ListQuery;
use super::form::SheetForm;
use super::panels;
use crate::session::Actor;
use crate::views::{csrf_field, office_name, page as layout};

/// What the matcher decided for a question.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `answer`, `clarify`, `smalltalk` or `handoff`.
    pub decision: String,
    /// The first candidate's confidence.
    pub confidence: f32,
    /// The top sheets: id, title, confidence.
    pub candidates: Vec<(String, String, f32)>,
}

/// A question tried against the published sheets and with the edited version.
#[derive(Debug, Clone)]
pub struct Trial {
    /// The question.
    pub text: String,
    /// With the published sheets.
    pub published: Outcome,
    /// With the version in the form.
    pub draft: Outcome,
}

/// What the edit page shows.
pub struct Edit {
    /// The sheet's id; `None` for a new sheet.
    pub id: Option<String>,
    /// The fields.
    pub form: SheetForm,
    /// Problems, by field.
    pub errors: BTreeMap<String, String>,
    /// The sheet the bot uses, if any.
    pub current: Option<StoredSheet>,
    /// The unpublished draft, if any.
    pub draft: Option<DraftRow>,
    /// Revisions, newest first.
    pub revisions: Vec<RevisionRow>,
    /// Known offices.
    pub offices: Vec<Office>,
    /// The last question tried.
    pub trial: Option<Trial>,
    /// The answer as each channel would show it.
    pub previews: Vec<Preview>,
}

/// A sheet's answer as one channel would send it.
pub struct Preview {
    /// The channel's name.
    pub channel: String,
    /// What the channel can show.
    pub caps: sportello_core::channel::ChannelCaps,
    /// The text the policy would send.
    pub text: String,
}

fn status_of(s: Option<&StoredSheet>, has_draft: bool) -> (&'static str, &'static str) {
    match (s.map(|s| s.sheet.status), has_draft) {
        (Some(SheetStatus::Published), true) => ("pending", "pubblicata, con modifiche in bozza"),
        (Some(SheetStatus::Published), false) => ("published", "pubblicata"),
        _ => ("draft", "bozza, non pubblicata"),
    }
}

/// id, title, tags, office, (status key, status label).
type ListRow = (
    String,
    String,
    Vec<String>,
    Option<String>,
    (&'static str, &'static str),
);

/// The list of sheets, filtered.
pub fn list(
    actor: &Actor,
    q: &ListQuery,
    sheets: &[StoredSheet],
    drafts: &[DraftRow],
    offices: &[Office],
) -> Markup {
    let words = q.q.to_lowercase();
    let mut rows: Vec<ListRow> = Vec::new();
    for s in sheets {
        let has_draft = drafts.iter().any(|d| d.sheet.id == s.sheet.id);
        let sh = &s.sheet;
        rows.push((
            sh.id.clone(),
            sh.title.clone(),
            sh.tags.clone(),
            sh.office.clone(),
            status_of(Some(s), has_draft),
        ));
    }
    for d in drafts
        .iter()
        .filter(|d| !sheets.iter().any(|s| s.sheet.id == d.sheet.id))
    {
        let sh = &d.sheet;
        rows.push((
            sh.id.clone(),
            sh.title.clone(),
            sh.tags.clone(),
            sh.office.clone(),
            status_of(None, true),
        ));
    }
    let text_of = |id: &str| {
        sheets
            .iter()
            .map(|s| &s.sheet)
            .chain(drafts.iter().map(|d| &d.sheet))
            .find(|s| s.id == id)
            .map(|s| {
                format!(
                    "{} {} {} {}",
                    s.id,
                    s.title,
                    s.summary,
                    s.questions.join(" ")
                )
                .to_lowercase()
            })
    };
    rows.retain(|(id, _, tags, office, (status, _))| {
        (words.is_empty()
            || text_of(id).is_some_and(|t| words.split_whitespace().all(|w| t.contains(w))))
            && (q.tag.is_empty() || tags.iter().any(|t| t == &q.tag))
            && (q.office.is_empty() || office.as_deref() == Some(q.office.as_str()))
            && (q.status.is_empty() || *status == q.status)
    });
    rows.sort();
    let mut tags: Vec<&String> = sheets.iter().flat_map(|s| &s.sheet.tags).collect();
    tags.sort();
    tags.dedup();
    layout(
        "Schede",
        Some(actor),
        html! {
            h1 { "Schede informative" }
            p class="actions" {
                a class="btn" href="/sheets/new" { "Nuova scheda" }
                a class="btn btn-outline" href="/sheets/learn" { "Da imparare: frasi proposte e domande senza risposta" }
                a class="btn btn-outline" href="/sheets/import" { "Importa ed esporta" }
            }
            form method="get" action="/sheets" class="card filters" {
                label for="q" { "Cerca" } input id="q" name="q" type="search" value=(q.q);
                label for="tag" { "Etichetta" }
                select id="tag" name="tag" { option value="" { "tutte" } @for t in &tags { option value=(t) selected[q.tag == **t] { (t) } } }
                label for="office" { "Ufficio" }
                select id="office" name="office" { option value="" { "tutti" } @for o in offices { option value=(o.id) selected[q.office == o.id] { (o.name) } } }
                label for="status" { "Stato" }
                select id="status" name="status" {
                    @for (v, l) in [("", "tutti"), ("published", "pubblicate"), ("pending", "con modifiche in bozza"), ("draft", "non pubblicate")] {
                        option value=(v) selected[q.status == v] { (l) }
                    }
                }
                button type="submit" class="btn" { "Filtra" }
            }
            p class="muted" { (rows.len()) " schede" }
            div class="scroll" tabindex="0" role="region" aria-label="Elenco delle schede" { table id="sheets" {
                thead { tr { th scope="col" { "Titolo" } th scope="col" { "Id" } th scope="col" { "Etichette" } th scope="col" { "Ufficio" } th scope="col" { "Stato" } } }
                tbody { @for (id, title, tags, office, (_, label)) in &rows { tr {
                    td { a href=(format!("/sheets/{id}")) { (title) } }
                    td { code { (id) } }
                    td { (tags.join(", ")) }
                    td { (office_name(office.as_deref(), offices)) }
                    td { (label) }
                } } }
            } }
        },
    )
}

fn field(name: &str, label: &str, errors: &BTreeMap<String, String>, input: Markup) -> Markup {
    html! {
        div class={ "field" @if errors.contains_key(name) { " invalid" } } {
            label for=(name) { (label) }
            (input)
            @if let Some(e) = errors.get(name) { p id=(format!("{name}-error")) class="field-error" role="alert" { (e) } }
        }
    }
}

/// The edit page.
pub fn edit(actor: &Actor, d: &Edit) -> Markup {
    let f = &d.form;
    let e = &d.errors;
    let action = match &d.id {
        Some(id) => format!("/sheets/{id}"),
        None => "/sheets/new".into(),
    };
    let title = match &d.id {
        Some(_) => format!("Scheda: {}", f.title),
        None => "Nuova scheda".into(),
    };
    let (_, status) = status_of(d.current.as_ref(), d.draft.is_some());
    layout(
        &title,
        Some(actor),
        html! {
            p { a href="/sheets" { "← Tutte le schede" } }
            h1 { (title) }
            p id="sheet-status" class="muted" { "Stato: " (status) @if let Some(dr) = &d.draft { " — bozza di " (dr.author) } }
            @if !e.is_empty() { p class="alert alert-danger" role="alert" { "Correggi i campi segnalati." } }
            form id="sheet-form" method="post" action=(action) class="card" {
                (csrf_field(Some(actor)))
                @if d.id.is_none() {
                    (field("id", "Identificativo", e, html! { input id="id" name="id" required value=(f.id); }))
                }
                (field("title", "Titolo", e, html! { input id="title" name="title" value=(f.title); }))
                (field("summary", "Risposta (chat, al massimo 1000 caratteri)", e, html! { textarea id="summary" name="summary" rows="5" { (f.summary) } }))
                (field("short", "Risposta breve per X (al massimo 200 caratteri; vuota: ricavata dalla risposta)", e, html! { textarea id="short" name="short" rows="2" { (f.short) } }))
                (field("questions", "Domande (una per riga)", e, html! { textarea id="questions" name="questions" rows="4" { (f.questions) } }))
                (field("keywords", "Parole chiave (separate da virgole)", e, html! { input id="keywords" name="keywords" value=(f.keywords); }))
                (field("tags", "Etichette (separate da virgole)", e, html! { input id="tags" name="tags" value=(f.tags); }))
                (field("office", "Ufficio", e, html! {
                    select id="office" name="office" { option value="" { "—" } @for o in &d.offices { option value=(o.id) selected[f.office == o.id] { (o.name) } } }
                }))
                (field("link", "Link", e, html! { input id="link" name="link" type="url" value=(f.link); }))
                (field("body", "Testo completo (Markdown)", e, html! { textarea id="body" name="body" rows="8" { (f.body) } }))
                div class="field" { label { input type="checkbox" name="handoff" checked[f.handoff.is_some()]; " Passa sempre a un operatore" } }
                (panels::try_box(f, d.trial.as_ref(), &action))
                div class="actions" {
                    button type="submit" name="action" value="draft" class="btn btn-outline" { "Salva bozza" }
                    button type="submit" name="action" value="publish" class="btn" { "Pubblica" }
                    @if d.draft.is_some() { button type="submit" name="action" value="discard" class="btn btn-link" { "Scarta la bozza" } }
                }
            }
            (panels::preview(&f.sheet(SheetStatus::Published), &d.previews))
            @if let Some(id) = &d.id { (panels::revisions(actor, id, &d.revisions)) }
        },
    )
}
