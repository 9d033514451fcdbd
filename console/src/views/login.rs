//! The login page, and the editors' home.

use maud::{Markup, html};

use super::page;
use crate::session::Actor;

/// The login form, with an error message when the last attempt failed.
pub fn login_page(error: Option<&str>, username: &str) -> Markup {
    page(
        "Accesso",
        None,
        html! {
            div class="login card" {
                h1 { "Accesso alla console" }
                @if let Some(e) = error {
                    p class="alert alert-danger" role="alert" id="login-error" { (e) }
                }
                form method="post" action="/login" {
                    div class="field" {
                        label for="username" { "Nome utente" }
                        input id="username" name="username" type="text" autocomplete="username"
                            required value=(username) autofocus;
                    }
                    div class="field" {
                        label for="password" { "Password" }
                        input id="password" name="password" type="password"
                            autocomplete="current-password" required;
                    }
                    button type="submit" class="btn" { "Accedi" }
                }
            }
        },
    )
}

/// The second step of a two-factor login: the code of the authenticator app, or a
/// recovery code.
pub fn code_page(error: Option<&str>, csrf: &str) -> Markup {
    page(
        "Codice di accesso",
        None,
        html! {
            div class="login card" {
                h1 { "Accesso in due passaggi" }
                @if let Some(e) = error {
                    p class="alert alert-danger" role="alert" id="login-error" { (e) }
                }
                form method="post" action="/login/code" {
                    input type="hidden" name="csrf" value=(csrf);
                    div class="field" {
                        label for="code" { "Codice dell'app di autenticazione" }
                        p class="muted" id="code-help" { "Le 6 cifre che l'app mostra ora, oppure uno dei codici di recupero." }
                        input id="code" name="code" type="text" autocomplete="one-time-code"
                            aria-describedby="code-help" required autofocus;
                    }
                    button type="submit" class="btn" { "Accedi" }
                }
            }
        },
    )
}

/// Editors work on sheets, through the API for now.
pub fn editor_home(actor: &Actor) -> Markup {
    super::page(
        "Redazione",
        Some(actor),
        html! {
            h1 { "Redazione delle schede" }
            p { "Le schede si gestiscono con l'API JSON: " a href="/api/v1/openapi.json" { "descrizione OpenAPI" } "." }
        },
    )
}
