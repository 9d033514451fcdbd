//! Import and export from the console: every sheet as CSV (`/sheets/export.csv`) or as a
//! TOML archive, one file per sheet (`/sheets/export.tar`); CSV import (pasted) with a preview
//! of what will change — new sheets, changed fields, unchanged — and the problems by row,
//! before anything is saved.

use std::path::Path;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;
use sportello_faq::Sheet;

use super::diff::diff;
use crate::AppState;
use crate::api::sheets::{EDITORS, rebuild};
use crate::error::{Error, PageResult};
use crate::session::{Actor, Gate, PageActor, gate};
use crate::views::{csrf_field, page as layout};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    use axum::routing::get;
    Router::new()
        .route("/sheets/export.csv", get(export_csv))
        .route("/sheets/export.tar", get(export_tar))
        .route("/sheets/import", get(import_page).post(import))
        .route_layer(axum::middleware::from_fn_with_state(
            Gate::page(EDITORS),
            gate,
        ))
}

async fn all(state: &AppState) -> Result<Vec<Sheet>, Error> {
    Ok(state
        .intake
        .store()
        .sheets()
        .await?
        .into_iter()
        .map(|s| s.sheet)
        .collect())
}

fn attachment(kind: &str, name: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

async fn export_csv(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
) -> PageResult<Response> {
    actor.require(EDITORS)?;
    let mut out = Vec::new();
    sportello_faq::export_csv(&all(&state).await?, &mut out)
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(attachment("text/csv; charset=utf-8", "schede.csv", out))
}

/// A ustar archive of `(name, contents)` files.
pub fn tar(files: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, body) in files {
        let mut h = [0u8; 512];
        h[..name.len().min(100)].copy_from_slice(&name.as_bytes()[..name.len().min(100)]);
        h[100..107].copy_from_slice(b"0000644");
        h[108..115].copy_from_slice(b"0000000");
        h[116..123].copy_from_slice(b"0000000");
        h[124..135].copy_from_slice(format!("{:011o}", body.len()).as_bytes());
        h[136..147].copy_from_slice(b"00000000000");
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(body.as_bytes());
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

async fn export_tar(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
) -> PageResult<Response> {
    actor.require(EDITORS)?;
    let files: Vec<(String, String)> = all(&state)
        .await?
        .iter()
        .map(|s| {
            (
                format!("sheets/{}.toml", s.id),
                sportello_faq::sheet_to_toml(s),
            )
        })
        .collect();
    Ok(attachment("application/x-tar", "schede.tar", tar(&files)))
}

/// The import form.
#[derive(Debug, Default, Deserialize)]
pub struct ImportForm {
    /// The CSV text.
    #[serde(default)]
    pub csv: String,
    /// `preview` or `apply`.
    #[serde(default)]
    pub action: String,
}

fn page(actor: &Actor, csv: &str, report: Markup) -> Markup {
    layout(
        "Importa schede",
        Some(actor),
        html! {
            p { a href="/sheets" { "← Tutte le schede" } }
            h1 { "Importa ed esporta" }
            p { a href="/sheets/export.csv" { "Esporta tutte le schede (CSV)" } " · " a href="/sheets/export.tar" { "Esporta come archivio TOML" } }
            form method="post" action="/sheets/import" class="card" {
                (csrf_field(Some(actor)))
                div class="field" {
                    label for="csv" { "CSV con riga d'intestazione (colonne id, question/title, answer/summary, tags, questions, link, office…)" }
                    textarea id="csv" name="csv" rows="10" { (csv) }
                }
                div class="actions" {
                    button type="submit" name="action" value="preview" class="btn btn-outline" { "Anteprima" }
                    button type="submit" name="action" value="apply" class="btn" { "Importa" }
                }
            }
            (report)
        },
    )
}

async fn import_page(PageActor(actor): PageActor) -> PageResult<Markup> {
    actor.require(EDITORS)?;
    Ok(page(&actor, "", html! {}))
}

async fn import(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Form(f): Form<ImportForm>,
) -> PageResult<Response> {
    actor.require(EDITORS)?;
    let store = state.intake.store();
    let offices = store.offices().await?;
    let loaded = match sportello_faq::parse_csv(&f.csv, Path::new("CSV"), &offices) {
        Ok(l) => l,
        Err(problems) => {
            let report = html! {
                section id="import-errors" {
                    h2 { "Errori: niente è stato importato" }
                    ul { @for p in &problems.0 { li { @if let Some(l) = p.line { "riga " (l) ": " } (p.message) } } }
                }
            };
            let code = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            return Ok((code, page(&actor, &f.csv, report)).into_response());
        }
    };
    let current = all(&state).await?;
    let changed: Vec<&Sheet> = loaded
        .sheets
        .iter()
        .filter(|s| current.iter().find(|c| c.id == s.id) != Some(s))
        .collect();
    if f.action == "apply" {
        let owned: Vec<Sheet> = changed.into_iter().cloned().collect();
        store.save_sheets(&owned, &actor.name).await?;
        rebuild(&state).await?;
        return Ok(Redirect::to("/sheets").into_response());
    }
    let report = html! {
        section id="import-preview" {
            h2 { "Anteprima: " (changed.len()) " da salvare, " (loaded.sheets.len() - changed.len()) " invariate" }
            @if !loaded.warnings.is_empty() {
                ul class="muted" { @for w in &loaded.warnings { li { @if let Some(l) = w.line { "riga " (l) ": " } (w.message) } } }
            }
            @for s in &changed {
                @let old = current.iter().find(|c| c.id == s.id);
                div class="card" {
                    h3 { (s.title) " " code { (s.id) } " — " @if old.is_some() { "modificata" } @else { "nuova" } }
                    dl class="diff" { @for c in diff(old, s) {
                        dt { (c.label) }
                        @for l in &c.removed { dd { del { "− " (l) } } }
                        @for l in &c.added { dd { ins { "+ " (l) } } }
                    } }
                }
            }
        }
    };
    Ok(page(&actor, &f.csv, report).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tar_has_a_header_per_file_and_two_empty_blocks_at_the_end() {
        let t = tar(&[("sheets/a.toml".into(), "id = \"a\"\n".into())]);
        assert_eq!(t.len(), 512 + 512 + 1024);
        assert_eq!(&t[..13], b"sheets/a.toml");
        assert_eq!(&t[257..262], b"ustar");
        assert_eq!(&t[512..520], b"id = \"a\"");
    }
}
