//! The console's static files, built into the binary: our stylesheet and script, htmx
//! (vendored from the `htmx.org` package, 0BSD licence in `assets/htmx.LICENSE`), and the
//! Titillium Web type of Bootstrap Italia (the Latin subset's regular, italic, semibold and
//! bold WOFF2 files of the `@fontsource/titillium-web` package, 5.3.0; SIL Open Font
//! License 1.1 in `assets/titillium-web.LICENSE`, served beside them).

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "console.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/console.css"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/console.js"),
    ),
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/htmx.min.js"),
    ),
    (
        "htmx.LICENSE",
        "text/plain; charset=utf-8",
        include_bytes!("../assets/htmx.LICENSE"),
    ),
    (
        "titillium-web-400.woff2",
        "font/woff2",
        include_bytes!("../assets/titillium-web-400.woff2"),
    ),
    (
        "titillium-web-400-italic.woff2",
        "font/woff2",
        include_bytes!("../assets/titillium-web-400-italic.woff2"),
    ),
    (
        "titillium-web-600.woff2",
        "font/woff2",
        include_bytes!("../assets/titillium-web-600.woff2"),
    ),
    (
        "titillium-web-700.woff2",
        "font/woff2",
        include_bytes!("../assets/titillium-web-700.woff2"),
    ),
    (
        "titillium-web.LICENSE",
        "text/plain; charset=utf-8",
        include_bytes!("../assets/titillium-web.LICENSE"),
    ),
];

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/assets/{file}", get(asset))
}

async fn asset(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, mime, bytes)) => (
            [
                (header::CONTENT_TYPE, *mime),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
