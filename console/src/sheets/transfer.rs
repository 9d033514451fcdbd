//! Import and export from the console: every sheet as CSV (`/sheets/export.csv`) or as a
//! TOML archive, one file per sheet (`/sheets/export.tar`); import of a CSV (uploaded or
//! pasted) or of such a TOML archive (uploaded), with a preview of what will change — new
//! sheets, changed fields, unchanged — and the problems by row or by file and line, before
//! anything is saved. An uploaded archive travels from the preview to "Importa" in a hidden
//! field, so nothing is kept on the server between the two.

use std::path::Path;

use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
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
        .route(
            "/sheets/import",
            get(import_page)
                .post(import)
                .layer(DefaultBodyLimit::max(crate::session::FORM_LIMIT)),
        )
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
pub fn tar(files: &[(String, String)]) -> Result<Vec<u8>, Error> {
    let mut archive = tar::Builder::new(Vec::new());
    for (name, body) in files {
        let mut header = tar::Header::new_ustar();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        archive
            .append_data(&mut header, name, body.as_bytes())
            .map_err(|e| Error::Internal(format!("tar {name}: {e}")))?;
    }
    archive
        .into_inner()
        .map_err(|e| Error::Internal(format!("tar: {e}")))
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
    Ok(attachment("application/x-tar", "schede.tar", tar(&files)?))
}

/// The import form (urlencoded, or multipart with a file).
#[derive(Debug, Default, Deserialize)]
pub struct ImportForm {
    /// The CSV text.
    #[serde(default)]
    pub csv: String,
    /// `preview` or `apply`.
    #[serde(default)]
    pub action: String,
    /// An archive carried over from the preview, base64.
    #[serde(default)]
    pub archive: String,
    /// Its file name.
    #[serde(default)]
    pub archive_name: String,
}

/// A tar archive is recognised by its name or by the `ustar` mark of its first header.
fn is_tar(name: &str, bytes: &[u8]) -> bool {
    name.to_ascii_lowercase().ends_with(".tar") || bytes.get(257..262) == Some(b"ustar")
}

/// Files as `(path, contents)`.
type Files = Vec<(String, Vec<u8>)>;

/// The `*.toml` files of a tar archive, `(path, contents)`, and the paths skipped: the office
/// and synonym files of a configuration folder.
fn toml_files(bytes: &[u8]) -> Result<(Files, Vec<String>), String> {
    use std::io::Read;
    let mut archive = tar::Archive::new(bytes);
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| format!("archivio non leggibile: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("archivio non leggibile: {e}"))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(|e| format!("archivio non leggibile: {e}"))?
            .to_string_lossy()
            .into_owned();
        if !path.to_ascii_lowercase().ends_with(".toml") {
            continue;
        }
        let name = path.rsplit('/').next().unwrap_or_default();
        if name == "offices.toml" || name == "synonyms.toml" {
            skipped.push(path);
            continue;
        }
        let mut body = Vec::new();
        entry
            .read_to_end(&mut body)
            .map_err(|e| format!("{path}: non leggibile: {e}"))?;
        files.push((path, body));
    }
    if files.is_empty() {
        return Err("l'archivio non contiene schede (file .toml)".into());
    }
    Ok((files, skipped))
}

/// Read the request: an urlencoded form, or a multipart one whose `file` is a CSV or a TOML
/// archive. The CSV text, pasted or uploaded, ends in the form's `csv`; an archive comes back
/// apart, as its name and bytes.
async fn read_import(
    req: Request,
    state: &AppState,
) -> Result<(ImportForm, Option<(String, Vec<u8>)>), Error> {
    use base64::Engine;
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let mut form = ImportForm::default();
    let mut upload: Option<(String, Vec<u8>)> = None;
    if multipart {
        let mut parts = Multipart::from_request(req, state)
            .await
            .map_err(|e| Error::Invalid(format!("modulo non valido: {e}")))?;
        let bad = |e: axum::extract::multipart::MultipartError| {
            Error::Invalid(format!("modulo non valido: {e}"))
        };
        while let Some(field) = parts.next_field().await.map_err(bad)? {
            let name = field.name().unwrap_or_default().to_string();
            if name == "file" {
                let file_name = field.file_name().unwrap_or("file").to_string();
                let bytes = field.bytes().await.map_err(bad)?;
                if !bytes.is_empty() {
                    upload = Some((file_name, bytes.to_vec()));
                }
                continue;
            }
            let text = field.text().await.map_err(bad)?;
            match name.as_str() {
                "csv" => form.csv = text,
                "action" => form.action = text,
                "archive" => form.archive = text,
                "archive_name" => form.archive_name = text,
                _ => {}
            }
        }
    } else {
        let Form(f) = Form::<ImportForm>::from_request(req, state)
            .await
            .map_err(|e| Error::Invalid(e.body_text()))?;
        form = f;
    }
    if upload.is_none() && !form.archive.trim().is_empty() {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(form.archive.trim())
            .map_err(|_| {
                Error::Invalid("archivio della anteprima non valido: ricaricalo".into())
            })?;
        upload = Some((form.archive_name.clone(), bytes));
    }
    if let Some((name, bytes)) = &upload
        && bytes.len() > crate::session::UPLOAD_LIMIT
    {
        return Err(Error::TooLarge(format!(
            "{name}: supera {} MB: dividi il file e riprova",
            crate::session::UPLOAD_LIMIT >> 20
        )));
    }
    match upload {
        Some((name, bytes)) if is_tar(&name, &bytes) => Ok((form, Some((name, bytes)))),
        Some((name, bytes)) => {
            let text = String::from_utf8(bytes).map_err(|e| {
                Error::Invalid(format!(
                    "{name}: non è testo UTF-8 (byte {}); salva il CSV come UTF-8",
                    e.utf8_error().valid_up_to()
                ))
            })?;
            form.csv = text.trim_start_matches('\u{feff}').to_string();
            Ok((form, None))
        }
        None => Ok((form, None)),
    }
}

/// The import page: the form (keeping the CSV text, or the archive in hidden fields) and a
/// report.
fn page(actor: &Actor, csv: &str, archive: Option<(&str, &[u8])>, report: Markup) -> Markup {
    use base64::Engine;
    layout(
        "Importa schede",
        Some(actor),
        html! {
            p { a href="/sheets" { "← Tutte le schede" } }
            h1 { "Importa ed esporta" }
            p { a href="/sheets/export.csv" { "Esporta tutte le schede (CSV)" } " · " a href="/sheets/export.tar" { "Esporta come archivio TOML" } }
            form method="post" action="/sheets/import" enctype="multipart/form-data" class="card" {
                (csrf_field(Some(actor)))
                div class="field" {
                    label for="file" { "File da importare: CSV, oppure archivio TOML (.tar, come quello esportato qui)" }
                    input id="file" name="file" type="file" accept=".csv,.tar,text/csv,application/x-tar";
                }
                @if let Some((name, bytes)) = archive {
                    p id="archive-kept" { "Archivio caricato: " strong { (name) } " (" (bytes.len()) " byte). Premi «Importa» per salvarlo, o scegli un altro file." }
                    input type="hidden" name="archive_name" value=(name);
                    input type="hidden" name="archive" value=(base64::engine::general_purpose::STANDARD.encode(bytes));
                }
                div class="field" {
                    label for="csv" { "…oppure incolla un CSV con riga d'intestazione (colonne id, question/title, answer/summary, tags, questions, link, office…)" }
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
    Ok(page(&actor, "", None, html! {}))
}

async fn import(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    req: Request,
) -> PageResult<Response> {
    actor.require(EDITORS)?;
    let (f, archive) = read_import(req, &state).await?;
    let store = state.intake.store();
    let offices = store.offices().await?;
    let mut skipped = Vec::new();
    let parsed = match &archive {
        None => sportello_faq::parse_csv(&f.csv, Path::new("CSV"), &offices)
            .map_err(|p| problem_lines(&p.0, false)),
        Some((_, bytes)) => match toml_files(bytes) {
            Ok((files, s)) => {
                skipped = s;
                sportello_faq::parse_sheet_files(files, &offices)
                    .map_err(|p| problem_lines(&p.0, true))
            }
            Err(e) => Err(vec![e]),
        },
    };
    let archive = archive
        .as_ref()
        .map(|(name, bytes)| (name.as_str(), bytes.as_slice()));
    let csv = if archive.is_some() {
        ""
    } else {
        f.csv.as_str()
    };
    let loaded = match parsed {
        Ok(l) => l,
        Err(problems) => {
            let report = html! {
                section id="import-errors" {
                    h2 { "Errori: niente è stato importato" }
                    ul { @for p in &problems { li { (p) } } }
                }
            };
            let code = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            return Ok((code, page(&actor, csv, None, report)).into_response());
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
            @if !loaded.warnings.is_empty() || !skipped.is_empty() {
                ul class="muted" {
                    @for w in problem_lines(&loaded.warnings, archive.is_some()) { li { (w) } }
                    @for p in &skipped { li { (p) ": non è una scheda, ignorato" } }
                }
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
    Ok(page(&actor, csv, archive, report).into_response())
}

/// Problems as lines: "riga N: …" for a CSV, "file, riga N: …" for an archive.
fn problem_lines(problems: &[sportello_faq::Problem], with_file: bool) -> Vec<String> {
    problems
        .iter()
        .map(|p| {
            let file = with_file.then(|| p.file.display().to_string());
            match (file, p.line) {
                (Some(f), Some(l)) => format!("{f}, riga {l}: {}", p.message),
                (Some(f), None) => format!("{f}: {}", p.message),
                (None, Some(l)) => format!("riga {l}: {}", p.message),
                (None, None) => p.message.clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exported_archive_reads_back_file_by_file() {
        let t = tar(&[
            ("sheets/a.toml".into(), "id = \"a\"\n".into()),
            ("sheets/b.toml".into(), "id = \"b\"\n".into()),
            ("sheets/offices.toml".into(), "[[office]]\n".into()),
            ("README.md".into(), "x".into()),
        ])
        .unwrap();
        assert!(is_tar("schede.bin", &t), "recognised by its ustar mark");
        let (files, skipped) = toml_files(&t).unwrap();
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["sheets/a.toml", "sheets/b.toml"]);
        assert_eq!(files[0].1, b"id = \"a\"\n");
        assert_eq!(skipped, ["sheets/offices.toml"]);
    }

    #[test]
    fn an_archive_without_sheets_or_not_an_archive_is_refused() {
        let t = tar(&[("README.md".into(), "x".into())]).unwrap();
        assert!(toml_files(&t).unwrap_err().contains("non contiene schede"));
        assert!(!is_tar("schede.csv", b"id,title\n"));
    }
}
