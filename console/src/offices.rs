//! `/offices` (admins only): the offices conversations are routed to, and the operators who
//! belong to each; a conversation tagged with an office waits in its members' queue.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;
use sportello_core::model::Role;

use crate::AppState;
use crate::error::{Error, PageResult};
use crate::session::{Actor, Gate, PageActor, gate};
use crate::views::{csrf_field, page as layout, role_label};

const ADMINS: &[Role] = &[Role::Admin];

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/offices", get(page))
        .route("/offices/{office}/members", post(add))
        .route("/offices/{office}/members/{user}/remove", post(remove))
        .route_layer(axum::middleware::from_fn_with_state(
            Gate::page(ADMINS),
            gate,
        ))
}

async fn page(State(state): State<AppState>, PageActor(actor): PageActor) -> PageResult<Markup> {
    actor.require(ADMINS)?;
    Ok(render(&state, &actor, None).await?)
}

async fn render(state: &AppState, actor: &Actor, error: Option<&str>) -> Result<Markup, Error> {
    let store = state.intake.store();
    let offices = store.offices().await?;
    let members = store.office_members().await?;
    let accounts = store.accounts().await?;
    let operators: Vec<_> = accounts.iter().filter(|a| !a.disabled).collect();
    Ok(layout(
        "Uffici",
        Some(actor),
        html! {
            h1 { "Uffici e membri" }
            p class="muted" {
                "Una conversazione passata a un ufficio (dalla scheda che l'ha causata o con «Trasferisci») "
                "attende nella coda dei suoi membri. Un operatore che non appartiene ad alcun ufficio vede la coda di tutti."
            }
            @if let Some(e) = error { p class="alert alert-danger" role="alert" id="error" { (e) } }
            @for o in &offices {
                section class="card" aria-labelledby=(format!("office-{}", o.id)) id=(format!("members-{}", o.id)) {
                    h2 id=(format!("office-{}", o.id)) { (o.name) }
                    @let mine: Vec<&str> = members.iter().filter(|(id, _)| *id == o.id).map(|(_, u)| u.as_str()).collect();
                    @if mine.is_empty() {
                        p class="muted" { "Nessun membro." }
                    } @else {
                        ul {
                            @for u in &mine {
                                @if let Some(a) = accounts.iter().find(|a| a.username == *u) {
                                    li class="inline" {
                                        span class="member" { (u) }
                                        form method="post" action=(format!("/offices/{}/members/{}/remove", o.id, a.id)) {
                                            (csrf_field(Some(actor)))
                                            button type="submit" class="btn btn-link" aria-label=(format!("Togli {u} da {}", o.name)) { "Togli" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    form method="post" action=(format!("/offices/{}/members", o.id)) class="inline" {
                        (csrf_field(Some(actor)))
                        div class="field" {
                            label for=(format!("add-{}", o.id)) { "Aggiungi un membro" }
                            select id=(format!("add-{}", o.id)) name="user" required {
                                option value="" selected disabled { "— scegli —" }
                                @for a in &operators {
                                    @if !mine.contains(&a.username.as_str()) {
                                        option value=(a.id) { (a.username) " (" (role_label(a.role)) ")" }
                                    }
                                }
                            }
                        }
                        button type="submit" class="btn btn-outline" { "Aggiungi" }
                    }
                }
            }
        },
    ))
}

/// The member to add.
#[derive(Debug, Deserialize)]
pub struct MemberForm {
    /// The user's id.
    #[serde(default)]
    pub user: String,
}

async fn change(
    state: &AppState,
    actor: &Actor,
    office: &str,
    user: i64,
    join: bool,
) -> Result<(), Error> {
    let store = state.intake.store();
    if !store.accounts().await?.iter().any(|a| a.id == user) {
        return Err(Error::Invalid("Utente sconosciuto.".into()));
    }
    let mut offices = store.user_offices(user).await?;
    offices.retain(|o| o != office);
    if join {
        offices.push(office.to_string());
    }
    store.set_user_offices(user, &offices, &actor.name).await?;
    Ok(())
}

async fn respond(
    state: &AppState,
    actor: &Actor,
    office: &str,
    done: Result<(), Error>,
) -> PageResult<Response> {
    match done {
        Ok(()) => Ok(Redirect::to(&format!("/offices#members-{office}")).into_response()),
        Err(e @ (Error::Invalid(_) | Error::Conflict(_) | Error::Fields { .. })) => {
            let page = render(state, actor, Some(&e.to_string())).await?;
            Ok((e.status(), page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn add(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path(office): Path<String>,
    Form(f): Form<MemberForm>,
) -> PageResult<Response> {
    actor.require(ADMINS)?;
    let done = match f.user.parse::<i64>() {
        Ok(user) => change(&state, &actor, &office, user, true).await,
        Err(_) => Err(Error::Invalid("Scegli un utente.".into())),
    };
    respond(&state, &actor, &office, done).await
}

async fn remove(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path((office, user)): Path<(String, i64)>,
) -> PageResult<Response> {
    actor.require(ADMINS)?;
    let done = change(&state, &actor, &office, user, false).await;
    respond(&state, &actor, &office, done).await
}
