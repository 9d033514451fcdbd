//! `/api/v1/sheets`: editors and admins list, read, create, update and delete procedure
//! sheets. Each field is checked with the `faq` crate's rules (and the office against the
//! known offices), problems answered with 422 and `fields`. After every change the matcher is
//! rebuilt from the published sheets, so the bot answers with them at once.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sportello_core::model::Role;
use sportello_faq::Sheet;

use super::body;
use crate::AppState;
use crate::error::Error;
use crate::session::{Actor, ApiActor};

/// Roles that edit sheets.
pub const EDITORS: &[Role] = &[Role::Editor];

async fn stored(state: &AppState, id: &str) -> Result<Value, Error> {
    let all = state.intake.store().sheets().await?;
    let s = all
        .into_iter()
        .find(|s| s.sheet.id == id)
        .ok_or_else(|| Error::NotFound(format!("scheda {id:?}: non trovata")))?;
    Ok(json!(s))
}

/// All sheets, drafts included.
pub async fn list(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
) -> Result<Json<Value>, Error> {
    actor.require(EDITORS)?;
    Ok(Json(
        json!({ "sheets": state.intake.store().sheets().await? }),
    ))
}

/// One sheet.
pub async fn get_one(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    actor.require(EDITORS)?;
    Ok(Json(stored(&state, &id).await?))
}

/// Check a sheet field by field.
async fn validate(state: &AppState, sheet: &Sheet) -> Result<(), Error> {
    let mut fields: BTreeMap<String, String> = sportello_faq::check_sheet(sheet)
        .into_iter()
        .map(|p| (p.field.to_string(), p.message))
        .collect();
    if let Some(office) = &sheet.office {
        let offices = state.intake.store().offices().await?;
        if !offices.iter().any(|o| &o.id == office) {
            fields.insert("office".into(), format!("unknown office {office:?}"));
        }
    }
    if fields.is_empty() {
        Ok(())
    } else {
        Err(Error::Fields {
            message: "la scheda non è valida".into(),
            fields,
        })
    }
}

/// Save and rebuild the matcher.
async fn save(state: &AppState, actor: &Actor, sheet: &Sheet) -> Result<(), Error> {
    let store = state.intake.store();
    store
        .save_sheets(std::slice::from_ref(sheet), &actor.name)
        .await?;
    rebuild(state).await
}

/// Rebuild this process's matcher now, so the next answer uses the change (other processes
/// hear of it from the store).
pub async fn rebuild(state: &AppState) -> Result<(), Error> {
    state.intake.policy().knowledge().refresh().await?;
    Ok(())
}

async fn exists(state: &AppState, id: &str) -> Result<bool, Error> {
    Ok(state
        .intake
        .store()
        .sheets()
        .await?
        .iter()
        .any(|s| s.sheet.id == id))
}

/// Create a sheet; 409 when the id is taken.
pub async fn create(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<Response, Error> {
    actor.require(EDITORS)?;
    let sheet: Sheet = body(b)?;
    validate(&state, &sheet).await?;
    if exists(&state, &sheet.id).await? {
        return Err(Error::Conflict(format!(
            "la scheda {:?} esiste già",
            sheet.id
        )));
    }
    save(&state, &actor, &sheet).await?;
    Ok((StatusCode::CREATED, Json(stored(&state, &sheet.id).await?)).into_response())
}

/// Replace a sheet; the body's `id`, when given, must be the path's.
pub async fn update(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, Error> {
    actor.require(EDITORS)?;
    let mut value = b.map(|Json(v)| v).unwrap_or(Value::Null);
    if let Some(obj) = value.as_object_mut() {
        match obj.get("id").and_then(Value::as_str) {
            Some(given) if given != id => {
                return Err(Error::Fields {
                    message: "l'id non può cambiare".into(),
                    fields: [("id".to_string(), format!("deve essere {id:?}"))].into(),
                });
            }
            _ => {
                obj.insert("id".into(), json!(id));
            }
        }
    }
    let sheet: Sheet = body(Ok(Json(value)))?;
    if !exists(&state, &id).await? {
        return Err(Error::NotFound(format!("scheda {id:?}: non trovata")));
    }
    validate(&state, &sheet).await?;
    save(&state, &actor, &sheet).await?;
    Ok(Json(stored(&state, &id).await?))
}

/// Delete a sheet (its revisions stay).
pub async fn remove(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    actor.require(EDITORS)?;
    state.intake.store().delete_sheet(&id, &actor.name).await?;
    rebuild(&state).await?;
    Ok(Json(json!({ "ok": true })))
}
