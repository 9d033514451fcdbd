//! `GET /chat/resume/{token}`: a citizen's personal link back to their conversation (see
//! [`sportello_core::resume`]). A genuine link gives this browser the conversation's session
//! and shows the chat; an expired or altered one gets a page that says so and reveals
//! nothing of the conversation, and the browser keeps whatever session it had.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use sportello_core::resume::Refused;

use super::page::notice_page;
use super::routes::{Shared, secure};
use super::session::Session;

pub(super) async fn open(
    State((chat, intake)): State<Shared>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let verdict = match intake.resume_links() {
        Some(links) => links
            .key()
            .verify(&token, intake.store().now_ms())
            .map(|thread| Session::resumed(&thread, links.key())),
        None => Err(Refused::Invalid),
    };
    let mut response = match verdict {
        Ok(session) => {
            // Redirect, so the token leaves the address bar and the history's last entry.
            let mut r = Redirect::to("/chat").into_response();
            r.headers_mut()
                .insert(header::SET_COOKIE, session.cookie(secure(&chat, &headers)));
            r
        }
        Err(refused) => {
            let (status, message) = match refused {
                Refused::Expired => (StatusCode::GONE, &chat.config.resume_expired),
                Refused::Invalid => (StatusCode::NOT_FOUND, &chat.config.resume_invalid),
            };
            (status, notice_page(&chat.site, &chat.config.title, message)).into_response()
        }
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
