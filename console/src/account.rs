//! `/account`: everyone's own profile. Change one's password (the current one is required;
//! a password an admin reset must be changed here before anything else), the name citizens
//! see on one's replies, and, for admins, two-factor login with an authenticator app (TOTP)
//! and recovery codes.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use sportello_core::model::Role;

use crate::AppState;
use crate::error::{Error, PageResult};
use crate::session::{Actor, PageActor, session_cookie};
use crate::views::account::{self as view, Outcome};

/// The page a user whose password was reset is sent to.
pub const PASSWORD_PAGE: &str = "/account/password";

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(page))
        .route(PASSWORD_PAGE, get(page).post(change_password))
        .route("/account/name", post(display_name))
        .route("/account/two-factor", post(begin_two_factor))
        .route("/account/two-factor/confirm", post(confirm_two_factor))
        .route("/account/two-factor/disable", post(disable_two_factor))
}

fn user_id(actor: &Actor) -> Result<i64, Error> {
    actor
        .user_id
        .ok_or_else(|| Error::Forbidden("token API (il profilo è dei soli utenti)".into()))
}

/// The profile page, with the outcome of the last action.
async fn render(
    state: &AppState,
    actor: &Actor,
    status: StatusCode,
    outcome: Outcome<'_>,
) -> PageResult<Response> {
    let store = state.intake.store();
    let id = user_id(actor)?;
    let me = store
        .accounts()
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or(Error::Unauthenticated)?;
    let two_factor = if actor.role == Role::Admin {
        Some(store.two_factor(id).await?)
    } else {
        None
    };
    let data = view::Data {
        display_name: me.display_name.as_deref(),
        must_change: me.must_change_password,
        two_factor: two_factor.as_ref(),
        outcome,
    };
    Ok((status, view::page(actor, &data)).into_response())
}

async fn page(State(state): State<AppState>, PageActor(actor): PageActor) -> PageResult<Response> {
    render(&state, &actor, StatusCode::OK, Outcome::None).await
}

/// The password form.
#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

/// Show a refusal of the user's input on the page; anything else is an error page.
async fn refused(state: &AppState, actor: &Actor, e: Error) -> PageResult<Response> {
    match e {
        Error::Invalid(_) | Error::Conflict(_) => {
            let message = e.to_string();
            render(
                state,
                actor,
                e.status(),
                Outcome::Error(capitalise(&message).as_str()),
            )
            .await
        }
        other => Err(other.into()),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

async fn change_password(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    headers: HeaderMap,
    Form(f): Form<PasswordForm>,
) -> PageResult<Response> {
    let id = user_id(&actor)?;
    if f.new != f.confirm {
        let e = Error::Invalid("La nuova password e la conferma non coincidono.".into());
        return refused(&state, &actor, e).await;
    }
    let keep = session_cookie(&headers);
    match state
        .intake
        .store()
        .change_own_password(id, &f.current, &f.new, keep.as_deref())
        .await
    {
        Ok(()) => {
            render(
                &state,
                &actor,
                StatusCode::OK,
                Outcome::Notice("Password cambiata."),
            )
            .await
        }
        Err(e) => refused(&state, &actor, e.into()).await,
    }
}

/// The display name form.
#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    display_name: String,
}

async fn display_name(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Form(f): Form<NameForm>,
) -> PageResult<Response> {
    let id = user_id(&actor)?;
    match state
        .intake
        .store()
        .set_display_name(id, &f.display_name, &actor.name)
        .await
    {
        Ok(()) => {
            render(
                &state,
                &actor,
                StatusCode::OK,
                Outcome::Notice("Nome per i cittadini salvato."),
            )
            .await
        }
        Err(e) => refused(&state, &actor, e.into()).await,
    }
}

fn admin_id(actor: &Actor) -> Result<i64, Error> {
    actor.require(&[Role::Admin])?;
    user_id(actor)
}

async fn begin_two_factor(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
) -> PageResult<Response> {
    let id = admin_id(&actor)?;
    state.intake.store().begin_two_factor(id).await?;
    render(&state, &actor, StatusCode::OK, Outcome::None).await
}

/// A code from the authenticator app, or the current password.
#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
}

async fn confirm_two_factor(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Form(f): Form<CodeForm>,
) -> PageResult<Response> {
    let id = admin_id(&actor)?;
    match state
        .intake
        .store()
        .confirm_two_factor(id, &f.code, &actor.name)
        .await
    {
        Ok(codes) => {
            render(
                &state,
                &actor,
                StatusCode::OK,
                Outcome::RecoveryCodes(&codes),
            )
            .await
        }
        Err(e) => refused(&state, &actor, e.into()).await,
    }
}

async fn disable_two_factor(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Form(f): Form<CodeForm>,
) -> PageResult<Response> {
    let id = admin_id(&actor)?;
    let store = state.intake.store();
    if store
        .verify_password(&actor.name, &f.password)
        .await?
        .is_none()
    {
        let e = Error::Invalid("La password attuale non è corretta.".into());
        return refused(&state, &actor, e).await;
    }
    store.disable_two_factor(id, &actor.name).await?;
    Ok(Redirect::to("/account").into_response())
}
