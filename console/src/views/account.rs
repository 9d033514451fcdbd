//! The profile page: password, name for citizens, two-factor login.

use maud::{Markup, html};
use sportello_core::store::{DISPLAY_NAME_MAX, TwoFactor};

use super::{csrf_field, layout, page as frame, role_label};
use crate::session::Actor;

/// What the last action left to say.
pub enum Outcome<'a> {
    /// Nothing.
    None,
    /// It worked.
    Notice(&'a str),
    /// It was refused.
    Error(&'a str),
    /// Two-factor login is on: the recovery codes, shown this once.
    RecoveryCodes(&'a [String]),
}

/// What the page shows.
pub struct Data<'a> {
    /// The name citizens see.
    pub display_name: Option<&'a str>,
    /// The password was reset and must be changed now.
    pub must_change: bool,
    /// Admins' two-factor state (`None` for other roles).
    pub two_factor: Option<&'a TwoFactor>,
    /// The last action's outcome.
    pub outcome: Outcome<'a>,
}

/// Percent-encoding for the `otpauth://` address.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The address authenticator apps read (RFC 6238 defaults: SHA-1, 6 digits, 30 s).
pub fn otpauth(issuer: &str, username: &str, secret: &str) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={secret}&issuer={}&algorithm=SHA1&digits=6&period=30",
        encode(issuer),
        encode(username),
        encode(issuer)
    )
}

fn password_form(actor: &Actor) -> Markup {
    html! {
        form method="post" action="/account/password" class="card" aria-labelledby="h-password" {
            h2 id="h-password" { "Cambia la password" }
            (csrf_field(Some(actor)))
            div class="field" { label for="current" { "Password attuale" }
                input id="current" name="current" type="password" autocomplete="current-password" required; }
            div class="field" { label for="new" { "Nuova password (almeno 8 caratteri)" }
                input id="new" name="new" type="password" autocomplete="new-password" required minlength="8"; }
            div class="field" { label for="confirm" { "Ripeti la nuova password" }
                input id="confirm" name="confirm" type="password" autocomplete="new-password" required minlength="8"; }
            button id="change-password" type="submit" class="btn" { "Cambia password" }
        }
    }
}

fn name_form(actor: &Actor, name: Option<&str>) -> Markup {
    html! {
        form method="post" action="/account/name" class="card" aria-labelledby="h-name" {
            h2 id="h-name" { "Nome per i cittadini" }
            p class="muted" id="name-help" {
                "Il nome con cui le tue risposte sono firmate per i cittadini, per esempio «Giulia dell'URP». "
                "Se lo lasci vuoto, le risposte sono firmate «Operatore»."
            }
            (csrf_field(Some(actor)))
            div class="field" { label for="display-name" { "Nome mostrato" }
                input id="display-name" name="display_name" type="text" maxlength=(DISPLAY_NAME_MAX)
                    aria-describedby="name-help" value=(name.unwrap_or_default()); }
            button id="save-name" type="submit" class="btn" { "Salva il nome" }
        }
    }
}

fn two_factor_section(actor: &Actor, t: &TwoFactor, outcome: &Outcome) -> Markup {
    let csrf = csrf_field(Some(actor));
    let issuer = layout::context().site.office_name.clone();
    html! {
        section class="card" aria-labelledby="h-2fa" id="two-factor" {
            h2 id="h-2fa" { "Accesso in due passaggi" }
            @if let Outcome::RecoveryCodes(codes) = outcome {
                p class="alert alert-success" role="status" { "Accesso in due passaggi attivato." }
                p { "Codici di recupero: ognuno vale una volta sola, se non hai il telefono. Conservali ora in un luogo sicuro: non saranno più mostrati." }
                ul id="recovery-codes" class="token" { @for c in codes.iter() { li { (c) } } }
            }
            @if t.enabled {
                p id="two-factor-state" { "Attivo. Codici di recupero ancora validi: " (t.recovery_left) "." }
                form method="post" action="/account/two-factor/disable" class="inline" {
                    (csrf)
                    div class="field" { label for="disable-password" { "Password attuale" }
                        input id="disable-password" name="password" type="password" autocomplete="current-password" required; }
                    button type="submit" class="btn btn-danger" { "Disattiva" }
                }
            } @else if let Some(secret) = &t.pending_secret {
                p { "Aggiungi questo account alla tua app di autenticazione (per esempio FreeOTP o Google Authenticator), "
                    "scrivendo la chiave o aprendo il collegamento dal telefono, poi inserisci il codice di 6 cifre che mostra." }
                p { "Chiave: " code id="totp-secret" class="token" { (secret) } }
                p { a href=(otpauth(&issuer, &actor.name, secret)) { "Apri nell'app di autenticazione" } }
                form method="post" action="/account/two-factor/confirm" class="inline" {
                    (csrf)
                    div class="field" { label for="totp-code" { "Codice dell'app" }
                        input id="totp-code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]*" required; }
                    button id="confirm-two-factor" type="submit" class="btn" { "Attiva" }
                }
            } @else {
                p id="two-factor-state" { "Non attivo. Con l'accesso in due passaggi, oltre alla password serve il codice di un'app sul telefono." }
                form method="post" action="/account/two-factor" {
                    (csrf)
                    button id="begin-two-factor" type="submit" class="btn btn-outline" { "Configura" }
                }
            }
        }
    }
}

/// The page.
pub fn page(actor: &Actor, d: &Data) -> Markup {
    frame(
        "Il mio profilo",
        Some(actor),
        html! {
            h1 { "Il mio profilo" }
            p { "Sei " strong { (actor.name) } ", " (role_label(actor.role)) "." }
            @if d.must_change {
                p class="alert alert-warning" role="alert" id="must-change" {
                    "La tua password è stata reimpostata da un amministratore: scegline una nuova per continuare."
                }
            }
            @match d.outcome {
                Outcome::Notice(n) => p class="alert alert-success" role="status" id="notice" { (n) },
                Outcome::Error(e) => p class="alert alert-danger" role="alert" id="error" { (e) },
                _ => {},
            }
            (password_form(actor))
            @if !d.must_change {
                (name_form(actor, d.display_name))
                @if let Some(t) = d.two_factor { (two_factor_section(actor, t, &d.outcome)) }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_otpauth_address_names_the_office_and_the_user() {
        assert_eq!(
            otpauth("URP — Sportello", "anna", "JBSWY3DP"),
            "otpauth://totp/URP%20%E2%80%94%20Sportello:anna?secret=JBSWY3DP&issuer=URP%20%E2%80%94%20Sportello&algorithm=SHA1&digits=6&period=30"
        );
    }
}
