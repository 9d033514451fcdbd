//! `/conversations/{id}/attachments/{attachment}`: an email attachment kept by the email
//! channel, always offered as a download (never rendered inline) under a sanitised name.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;
use crate::actions;
use crate::error::{Error, PageResult};
use crate::session::{Gate, PageActor, gate};

/// The routes of this module (operators and above).
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/conversations/{id}/attachments/{attachment}",
            get(download),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            Gate::page(actions::OPERATORS),
            gate,
        ))
}

/// The reference a message's attachment carries for a stored email attachment.
pub fn reference(attachment: i64) -> String {
    format!("email-attachment:{attachment}")
}

async fn download(
    State(state): State<AppState>,
    PageActor(_actor): PageActor,
    Path((id, attachment)): Path<(i64, i64)>,
) -> PageResult<Response> {
    let store = state.intake.store();
    // Only an attachment of one of this conversation's messages.
    let wanted = reference(attachment);
    let belongs = store
        .messages(id)
        .await
        .map_err(Error::from)?
        .iter()
        .any(|m| m.attachments.iter().any(|a| a.reference == wanted));
    let row = match belongs {
        true => store
            .email_attachment(attachment)
            .await
            .map_err(Error::from)?,
        false => None,
    };
    let Some((row, data)) = row.and_then(|r| r.data.clone().map(|d| (r, d))) else {
        return Err(Error::NotFound("allegato non trovato o non conservato".into()).into());
    };
    let name = safe_name(row.name.as_deref().unwrap_or("allegato"));
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}\"; filename*=UTF-8''{}",
                    ascii_name(&name),
                    percent(&name)
                ),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox".to_string(),
            ),
        ],
        data,
    )
        .into_response())
}

/// No folders, control characters or quotes; at most 120 characters.
fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if "<>:\"|?*;".contains(c) { '_' } else { c })
        .take(120)
        .collect();
    let clean = clean.trim().trim_start_matches('.').to_string();
    if clean.is_empty() {
        "allegato".into()
    } else {
        clean
    }
}

/// The name in plain ASCII, for clients that ignore `filename*`.
fn ascii_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// RFC 5987 percent-encoding of UTF-8.
fn percent(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_for_the_header_and_the_disk() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("a\"b\r\n.pdf"), "a_b.pdf");
        assert_eq!(safe_name(""), "allegato");
        assert_eq!(ascii_name("città.pdf"), "citt_.pdf");
        assert_eq!(percent("città d.pdf"), "citt%C3%A0%20d.pdf");
    }
}
