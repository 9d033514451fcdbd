//! The admin's page of users and API tokens.

use maud::{Markup, html};
use sportello_core::store::{AccountRow, AuditRow, TokenRow};

use super::{csrf_field, page as layout, role_label, time};
use crate::session::Actor;

/// What the page shows.
pub struct Data<'a> {
    /// Users.
    pub users: Vec<AccountRow>,
    /// Tokens.
    pub tokens: Vec<TokenRow>,
    /// The outcome of the last action.
    pub notice: Option<&'a str>,
    /// What went wrong.
    pub error: Option<&'a str>,
    /// A token just created, shown this once.
    pub token: Option<&'a str>,
    /// A user's name and the temporary password just set, shown this once.
    pub password: Option<(&'a str, &'a str)>,
}

fn role_select(id: &str) -> Markup {
    html! {
        select id=(id) name="role" {
            option value="operator" { "operatore" }
            option value="editor" { "redattore" }
            option value="admin" { "amministratore" }
        }
    }
}

/// The audit log.
pub fn audit(actor: &Actor, entries: &[AuditRow]) -> Markup {
    layout(
        "Registro delle attività",
        Some(actor),
        html! {
            h1 { "Registro delle attività" }
            p class="muted" { "Le ultime " (entries.len()) " operazioni, dalla più recente." }
            div class="scroll" tabindex="0" role="region" aria-label="Registro, tabella" {
                table id="audit" {
                    thead { tr { th scope="col" { "Quando" } th scope="col" { "Chi" } th scope="col" { "Azione" } th scope="col" { "Oggetto" } th scope="col" { "Dettagli" } } }
                    tbody {
                        @for e in entries {
                            tr {
                                td { (time(e.at)) }
                                td { (e.actor) }
                                td { (e.action) }
                                td {
                                    @match e.subject.strip_prefix("conversation:") {
                                        Some(id) => a href=(format!("/conversations/{id}")) { (e.subject) },
                                        None => (e.subject),
                                    }
                                }
                                td class="muted" { (e.detail.as_deref().filter(|d| *d != "null").unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The page.
pub fn page(actor: &Actor, d: &Data) -> Markup {
    let csrf = csrf_field(Some(actor));
    layout(
        "Utenti e token",
        Some(actor),
        html! {
            h1 { "Utenti e token" }
            @if let Some(n) = d.notice { p class="alert alert-success" role="status" { (n) } }
            @if let Some(e) = d.error { p class="alert alert-danger" role="alert" id="error" { (e) } }
            @if let Some(t) = d.token { p class="token" id="new-token" { (t) } }
            @if let Some((name, p)) = d.password {
                p { "Password temporanea di " (name) ":" }
                p class="token" id="temporary-password" { (p) }
            }
            h2 { "Utenti" }
            div class="scroll" tabindex="0" role="region" aria-label="Utenti, tabella" { table {
                thead { tr { th scope="col" { "Nome" } th scope="col" { "Nome per i cittadini" } th scope="col" { "Ruolo" } th scope="col" { "Stato" } th scope="col" { "Creato" } th scope="col" { "Azioni" } } }
                tbody {
                    @for u in &d.users {
                        tr {
                            td { (u.username) }
                            td { (u.display_name.as_deref().unwrap_or("—")) }
                            td { (role_label(u.role)) }
                            td {
                                @if u.disabled { "disattivato" } @else { "attivo" }
                                @if u.must_change_password { br; span class="muted" { "password da cambiare" } }
                                @if u.two_factor { br; span class="muted" { "accesso in due passaggi" } }
                            }
                            td { (time(u.created_at)) }
                            td {
                                @if Some(u.id) == actor.user_id { span class="muted" { "(tu)" } } @else {
                                @let action = if u.disabled { "enable" } else { "disable" };
                                form method="post" action=(format!("/users/{}/{action}", u.id)) {
                                    (csrf)
                                    button type="submit" class="btn btn-outline" aria-label=(format!("{} {}", if u.disabled { "Riattiva" } else { "Disattiva" }, u.username)) {
                                        @if u.disabled { "Riattiva" } @else { "Disattiva" }
                                    }
                                }
                                form method="post" action=(format!("/users/{}/password", u.id)) {
                                    (csrf)
                                    button type="submit" class="btn btn-outline" id=(format!("reset-{}", u.username)) aria-label=(format!("Reimposta la password di {}", u.username)) {
                                        "Reimposta password"
                                    }
                                }
                                @if u.two_factor {
                                    form method="post" action=(format!("/users/{}/two-factor/disable", u.id)) {
                                        (csrf)
                                        button type="submit" class="btn btn-outline" aria-label=(format!("Disattiva l'accesso in due passaggi di {}", u.username)) {
                                            "Disattiva due passaggi"
                                        }
                                    }
                                }
                                }
                            }
                        }
                    }
                }
            } }
            form method="post" action="/users" class="card inline" aria-label="Nuovo utente" {
                (csrf)
                div class="field" { label for="new-username" { "Nome utente" } input id="new-username" name="username" required maxlength="64"; }
                div class="field" { label for="new-password" { "Password (almeno 8 caratteri)" } input id="new-password" name="password" type="password" autocomplete="new-password" required minlength="8"; }
                div class="field" { label for="new-role" { "Ruolo" } (role_select("new-role")) }
                button type="submit" class="btn" { "Aggiungi utente" }
            }
            h2 { "Token API" }
            p class="muted" { "Un token agisce con il suo ruolo; per prendere in carico e rispondere, dagli il nome di un operatore." }
            div class="scroll" tabindex="0" role="region" aria-label="Token API, tabella" { table {
                thead { tr { th scope="col" { "Nome" } th scope="col" { "Ruolo" } th scope="col" { "Creato" } th scope="col" { "Stato" } } }
                tbody {
                    @if d.tokens.is_empty() { tr { td colspan="4" class="muted" { "Nessun token." } } }
                    @for t in &d.tokens {
                        tr {
                            td { (t.name) }
                            td { (role_label(t.role)) }
                            td { (time(t.created_at)) }
                            td {
                                @if let Some(r) = t.revoked_at { "revocato " (time(r)) } @else {
                                    form method="post" action=(format!("/tokens/{}/revoke", t.id)) {
                                        (csrf)
                                        button type="submit" class="btn btn-danger" aria-label=(format!("Revoca il token {}", t.name)) { "Revoca" }
                                    }
                                }
                            }
                        }
                    }
                }
            } }
            form method="post" action="/tokens" class="card inline" aria-label="Nuovo token" {
                (csrf)
                div class="field" { label for="token-name" { "Nome del token" } input id="token-name" name="name" required maxlength="64"; }
                div class="field" { label for="token-role" { "Ruolo" } (role_select("token-role")) }
                button type="submit" class="btn" { "Crea token" }
            }
        },
    )
}
