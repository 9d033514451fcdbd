//! The frame of every page, after Bootstrap Italia: a slim header naming the administration
//! (`[site] body_name`), the office's header with the navigation, the main content, and a
//! footer with the links every Italian public administration's site carries (privacy notice,
//! legal notes, accessibility statement). Type is Titillium Web, served from `/assets`.
//!
//! What the frame needs from the configuration ([`PageContext`]: `[site]` and the office's
//! time zone) reaches the views through a task-local value that [`with_context`] sets for
//! each request, so the many page functions need not pass it along. Outside a request (unit
//! tests) the defaults apply.

use std::future::Future;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use maud::{DOCTYPE, Markup, html};
use sportello_core::calendar::Zone;
use sportello_core::config::SiteConfig;
use sportello_core::model::Role;

use super::{csrf_field, role_label};
use crate::AppState;
use crate::session::Actor;

/// What the views take from the configuration.
#[derive(Debug, Clone)]
pub struct PageContext {
    /// `[site]`.
    pub site: Arc<SiteConfig>,
    /// The office's time zone, for dates and times.
    pub zone: Zone,
}

impl Default for PageContext {
    fn default() -> Self {
        Self {
            site: Arc::new(SiteConfig::default()),
            zone: Zone::EuropeRome,
        }
    }
}

tokio::task_local! {
    static CONTEXT: PageContext;
}

/// Run `f` with `context` as the pages' context.
pub async fn scope<F: Future>(context: PageContext, f: F) -> F::Output {
    CONTEXT.scope(context, f).await
}

/// The pages' context of this request (the defaults outside one).
pub fn context() -> PageContext {
    CONTEXT.try_with(Clone::clone).unwrap_or_default()
}

/// Middleware: the request's handlers render with the state's `[site]` and time zone.
pub async fn with_context(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let context = PageContext {
        site: state.site.clone(),
        zone: state.calendar.zone(),
    };
    scope(context, next.run(req)).await
}

fn navigation(a: &Actor) -> Markup {
    html! {
        nav class="it-header-navbar-wrapper" aria-label="Menu principale" {
            div class="wrap" {
                ul {
                    @if a.require(&[Role::Operator]).is_ok() {
                        li { a href="/queue" { "Coda" } }
                    }
                    @if a.require(crate::api::sheets::EDITORS).is_ok() {
                        li { a href="/sheets" { "Schede" } }
                    }
                    @if a.require(crate::stats::READERS).is_ok() {
                        li { a href="/stats" { "Statistiche" } }
                    }
                    @if a.role == Role::Admin {
                        li { a href="/users" { "Utenti e token" } }
                        li { a href="/offices" { "Uffici" } }
                        li { a href="/audit" { "Registro" } }
                    }
                    li { a href="/account" { "Il mio profilo" } }
                }
            }
        }
    }
}

/// The header: the administration, then the office with who is logged in.
pub fn header(site: &SiteConfig, actor: Option<&Actor>) -> Markup {
    html! {
        header class="it-header" {
            div class="it-header-slim-wrapper" {
                div class="wrap" {
                    @if site.body_url.is_empty() {
                        span class="it-body" { (site.body_name) }
                    } @else {
                        a class="it-body" href=(site.body_url) { (site.body_name) }
                    }
                }
            }
            div class="it-header-center-wrapper" {
                div class="wrap" {
                    a class="brand" href="/" { (site.office_name) }
                    @if let Some(a) = actor {
                        div class="who" {
                            span { (a.name) " (" (role_label(a.role)) ")" }
                            form method="post" action="/logout" {
                                (csrf_field(actor))
                                button type="submit" class="btn btn-link" { "Esci" }
                            }
                        }
                    }
                }
            }
            @if let Some(a) = actor { (navigation(a)) }
        }
    }
}

/// The footer: the administration and the links its sites must carry.
pub fn footer(site: &SiteConfig) -> Markup {
    html! {
        footer class="it-footer" {
            div class="it-footer-main" {
                div class="wrap" {
                    p class="it-footer-body" { (site.body_name) }
                    p { (site.office_name) }
                }
            }
            div class="it-footer-small-prints" {
                div class="wrap" {
                    h2 class="visually-hidden" { "Collegamenti utili" }
                    ul {
                        li { a href=(site.privacy_url) { "Informativa privacy" } }
                        li { a href=(site.legal_notes_url) { "Note legali" } }
                        li { a href=(site.accessibility_url) { "Dichiarazione di accessibilità" } }
                    }
                }
            }
        }
    }
}

/// A whole page: header with navigation for the actor's role, main content, footer.
pub fn page(title: &str, actor: Option<&Actor>, body: Markup) -> Markup {
    let context = context();
    let site = &context.site;
    html! {
        (DOCTYPE)
        html lang="it" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false}"#;
                @if let Some(csrf) = actor.and_then(|a| a.csrf.as_deref()) {
                    meta name="csrf-token" content=(csrf);
                }
                title { (title) " · " (site.office_name) " · " (site.body_name) }
                link rel="preload" href="/assets/titillium-web-400.woff2" as="font" type="font/woff2" crossorigin;
                link rel="stylesheet" href="/assets/console.css";
                script src="/assets/htmx.min.js" defer {}
                script src="/assets/console.js" defer {}
            }
            body {
                a class="skip" href="#main" { "Vai al contenuto" }
                (header(site, actor))
                main id="main" class="wrap" tabindex="-1" {
                    (body)
                }
                (footer(site))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_page_names_the_configured_body_and_links_the_footer_pages() {
        let site = SiteConfig {
            body_name: "Comune di Esempio".into(),
            accessibility_url: "https://form.agid.gov.it/view/esempio".into(),
            ..SiteConfig::default()
        };
        let context = PageContext {
            site: Arc::new(site),
            zone: Zone::EuropeRome,
        };
        let html = scope(context, async { page("Prova", None, html! {}) })
            .await
            .into_string();
        assert!(html.contains("Comune di Esempio"), "{html}");
        assert!(html.contains(r#"href="https://form.agid.gov.it/view/esempio""#));
        assert!(html.contains("Dichiarazione di accessibilità"));
        assert!(html.contains("Note legali") && html.contains("Informativa privacy"));
    }

    #[test]
    fn outside_a_request_the_default_body_is_named() {
        let html = page("Prova", None, html! {}).into_string();
        assert!(html.contains("Città metropolitana di Milano"));
    }
}
