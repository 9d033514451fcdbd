//! `/users` (admins only): users (add, disable, enable, reset the password to a temporary
//! one shown once and to be changed at the next login, turn off a lost two-factor login)
//! and API tokens (create, shown once; revoke); `/audit`: who did what, and when.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::Markup;
use serde::Deserialize;
use sportello_core::model::Role;

use crate::AppState;
use crate::error::{Error, PageResult};
use crate::session::{Actor, Gate, PageActor, gate};
use crate::views;

const ADMINS: &[Role] = &[Role::Admin];

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(page).post(add_user))
        .route("/users/{id}/disable", post(disable))
        .route("/users/{id}/enable", post(enable))
        .route("/users/{id}/password", post(reset_password))
        .route("/users/{id}/two-factor/disable", post(disable_two_factor))
        .route("/tokens", post(create_token))
        .route("/tokens/{id}/revoke", post(revoke))
        .route("/audit", get(audit))
        .route_layer(axum::middleware::from_fn_with_state(
            Gate::page(ADMINS),
            gate,
        ))
}

async fn render(
    state: &AppState,
    actor: &Actor,
    notice: Option<&str>,
    error: Option<&str>,
    token: Option<&str>,
) -> Result<Markup, Error> {
    render_with(state, actor, notice, error, token, None).await
}

async fn render_with(
    state: &AppState,
    actor: &Actor,
    notice: Option<&str>,
    error: Option<&str>,
    token: Option<&str>,
    password: Option<(&str, &str)>,
) -> Result<Markup, Error> {
    let store = state.intake.store();
    let data = views::users::Data {
        users: store.accounts().await?,
        tokens: store.tokens().await?,
        notice,
        error,
        token,
        password,
    };
    Ok(views::users::page(actor, &data))
}

/// The latest 300 entries of the audit log.
async fn audit(State(state): State<AppState>, PageActor(actor): PageActor) -> PageResult<Markup> {
    actor.require(ADMINS)?;
    let entries = state.intake.store().audit_log(300).await?;
    Ok(views::users::audit(&actor, &entries))
}

async fn page(State(state): State<AppState>, PageActor(actor): PageActor) -> PageResult<Markup> {
    actor.require(ADMINS)?;
    Ok(render(&state, &actor, None, None, None).await?)
}

/// Form to add a user or create a token.
#[derive(Deserialize)]
pub struct NewForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    role: String,
}

fn role(s: &str) -> Result<Role, Error> {
    Role::parse(s).ok_or_else(|| Error::Invalid(format!("ruolo sconosciuto: {s:?}")))
}

/// The page again with an error, or the error itself when it is not the user's input.
async fn failed(state: &AppState, actor: &Actor, e: Error) -> PageResult<Response> {
    match e {
        Error::Invalid(_) | Error::Conflict(_) | Error::NotFound(_) => {
            let page = render(state, actor, None, Some(&e.to_string()), None).await?;
            Ok((e.status(), page).into_response())
        }
        other => Err(other.into()),
    }
}

async fn add_user(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Form(f): Form<NewForm>,
) -> PageResult<Response> {
    actor.require(ADMINS)?;
    let result = async {
        let role = role(&f.role)?;
        state
            .intake
            .store()
            .create_account(&f.username, role, &f.password, &actor.name)
            .await?;
        Ok::<_, Error>(())
    }
    .await;
    match result {
        Ok(()) => Ok(render(&state, &actor, Some("Utente aggiunto."), None, None)
            .await?
            .into_response()),
        Err(e) => failed(&state, &actor, e).await,
    }
}

async fn set_disabled(
    state: &AppState,
    actor: &Actor,
    id: i64,
    disabled: bool,
) -> PageResult<Response> {
    actor.require(ADMINS)?;
    if disabled && actor.user_id == Some(id) {
        return failed(
            state,
            actor,
            Error::Invalid("Non puoi disattivare te stesso.".into()),
        )
        .await;
    }
    match state
        .intake
        .store()
        .set_account_disabled(id, disabled, &actor.name)
        .await
    {
        Ok(()) => Ok(Redirect::to("/users").into_response()),
        Err(e) => failed(state, actor, e.into()).await,
    }
}

async fn disable(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
) -> PageResult<Response> {
    set_disabled(&state, &actor, id, true).await
}

async fn enable(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
) -> PageResult<Response> {
    set_disabled(&state, &actor, id, false).await
}

/// The new token is shown in this response only; it is never stored in clear.
async fn create_token(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Form(f): Form<NewForm>,
) -> PageResult<Response> {
    actor.require(ADMINS)?;
    let result = async {
        let role = role(&f.role)?;
        Ok::<_, Error>(
            state
                .intake
                .store()
                .create_token_for(&f.name, role, &actor.name)
                .await?,
        )
    }
    .await;
    match result {
        Ok(token) => {
            let page = render(
                &state,
                &actor,
                Some("Token creato: copialo ora, non sarà più mostrato."),
                None,
                Some(&token),
            )
            .await?;
            Ok((StatusCode::CREATED, page).into_response())
        }
        Err(e) => failed(&state, &actor, e).await,
    }
}

async fn revoke(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
) -> PageResult<Response> {
    actor.require(ADMINS)?;
    match state.intake.store().revoke_token(id, &actor.name).await {
        Ok(()) => Ok(Redirect::to("/users").into_response()),
        Err(e) => failed(&state, &actor, e.into()).await,
    }
}

/// The temporary password is shown in this response only.
async fn reset_password(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
) -> PageResult<Response> {
    actor.require(ADMINS)?;
    if actor.user_id == Some(id) {
        let e = Error::Invalid("La tua password si cambia da «Il mio profilo».".into());
        return failed(&state, &actor, e).await;
    }
    let store = state.intake.store();
    match store.reset_password(id, &actor.name).await {
        Ok(password) => {
            let name = store
                .accounts()
                .await?
                .into_iter()
                .find(|a| a.id == id)
                .map(|a| a.username)
                .unwrap_or_default();
            let notice = format!(
                "Password di {name} reimpostata: comunicagli questa password temporanea, che dovrà cambiare al primo accesso. Non sarà più mostrata."
            );
            let page = render_with(
                &state,
                &actor,
                Some(&notice),
                None,
                None,
                Some((&name, &password)),
            )
            .await?;
            Ok(page.into_response())
        }
        Err(e) => failed(&state, &actor, e.into()).await,
    }
}

async fn disable_two_factor(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
) -> PageResult<Response> {
    actor.require(ADMINS)?;
    match state
        .intake
        .store()
        .disable_two_factor(id, &actor.name)
        .await
    {
        Ok(()) => Ok(Redirect::to("/users").into_response()),
        Err(e) => failed(&state, &actor, e.into()).await,
    }
}
