//! The HTTP side: an axum router served connection by connection on 127.0.0.1, so that a
//! [`Fault::Drop`] can close its connection without any answer.
//!
//! Every request goes: token (401) → method (404) → parameters → contract (400, recorded as a
//! violation) → injected fault → rate limiter (`sendMessage`) → the method's behaviour.
//! Requests that break the contract are refused without using up an injected fault.

use super::contract::MethodSpec;
use super::state::Shared;
use super::{Call, Fault, methods, params};
use axum::Extension;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde_json::{Map, Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// An answer of the double.
pub(crate) enum Reply {
    /// A status with a JSON body.
    Json(u16, Value),
    /// 200 with a body that is not JSON.
    Malformed,
}

impl Reply {
    pub fn ok(result: Value) -> Reply {
        Reply::Json(200, json!({ "ok": true, "result": result }))
    }

    pub fn error(code: u16, description: &str) -> Reply {
        Reply::Json(
            code,
            json!({ "ok": false, "error_code": code, "description": description }),
        )
    }

    pub fn too_many_requests(retry_after: u32) -> Reply {
        Reply::Json(
            429,
            json!({
                "ok": false,
                "error_code": 429,
                "description": format!("Too Many Requests: retry after {retry_after}"),
                "parameters": { "retry_after": retry_after },
            }),
        )
    }

    fn status(&self) -> u16 {
        match self {
            Reply::Json(status, _) => *status,
            Reply::Malformed => 200,
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            Reply::Json(status, body) => (status, body.to_string()),
            Reply::Malformed => (200, r#"{"ok":true,"result":{"message_id":"#.to_string()),
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            Body::from(body),
        )
            .into_response()
    }
}

/// The kill switch of one connection: notified, the connection is dropped unanswered.
#[derive(Clone)]
struct Kill(Arc<Notify>);

/// Binds 127.0.0.1:0 and serves the double there until the returned task is aborted.
pub(crate) async fn spawn(shared: Arc<Shared>) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener
        .local_addr()
        .expect("local address of the listener");
    let app = Router::new()
        .route("/{bot}/{method}", any(handle))
        .fallback(|| async { Reply::error(404, "Not Found") })
        .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(shared);
    let task = tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => _ = tokio::spawn(serve_connection(stream, app.clone())),
                Err(e) => {
                    tracing::warn!(error = %e, "telegram double: accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    });
    (addr, task)
}

async fn serve_connection(stream: TcpStream, app: Router) {
    let kill = Kill(Arc::new(Notify::new()));
    let service = TowerToHyperService::new(app.layer(Extension(kill.clone())));
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        // Dropping the connection closes the socket with no response written.
        () = kill.0.notified() => {}
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Extension(kill): Extension<Kill>,
    Path((bot, method)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let contract = Arc::clone(&shared.contract);
    let spec = contract.method(&method);
    let name = spec.map_or_else(|| method.clone(), |s| s.name.clone());
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let parsed = params::collect(spec, uri.query(), content_type, &body);
    let index = {
        let mut st = shared.lock();
        let params = parsed
            .as_ref()
            .map_or(Value::Null, |p| Value::Object(p.clone()));
        st.calls.push(Call {
            method: name.clone(),
            params,
            status: 0,
            at: Instant::now(),
        });
        st.calls.len() - 1
    };
    let reply = respond(&shared, &bot, &name, spec, parsed, &kill).await;
    shared.lock().calls[index].status = reply.status();
    shared.notify();
    reply
}

async fn respond(
    shared: &Arc<Shared>,
    bot: &str,
    name: &str,
    spec: Option<&MethodSpec>,
    parsed: Result<Map<String, Value>, super::Problem>,
    kill: &Kill,
) -> Reply {
    if bot.strip_prefix("bot") != Some(shared.token.as_str()) {
        return Reply::error(401, "Unauthorized");
    }
    let Some(spec) = spec else {
        shared
            .lock()
            .violations
            .push(format!("{name}: no such method in the Bot API contract"));
        return Reply::error(404, "Not Found: method not found");
    };
    let params = match parsed {
        Ok(params) => params,
        Err(problem) => {
            shared
                .lock()
                .violations
                .push(format!("{}: {}", spec.name, problem.detail));
            return Reply::error(400, &problem.description);
        }
    };
    let problems = shared.contract.validate_params(spec, &params);
    if let Some(first) = problems.first() {
        let mut st = shared.lock();
        for p in &problems {
            st.violations
                .push(format!("{}: {}: {}", spec.name, p.path, p.detail));
        }
        return Reply::error(400, &first.description);
    }
    let fault = shared
        .lock()
        .take_fault(&spec.name, methods::chat_id(&params));
    match fault {
        None => {}
        Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::Drop) => {
            kill.0.notify_one();
            return std::future::pending().await;
        }
        Some(Fault::TooManyRequests { retry_after }) => {
            return Reply::too_many_requests(retry_after);
        }
        Some(Fault::Forbidden) => {
            return Reply::error(403, "Forbidden: bot was blocked by the user");
        }
        Some(Fault::MalformedJson) => return Reply::Malformed,
        Some(Fault::ServerError(code)) => {
            let reason = StatusCode::from_u16(code)
                .ok()
                .and_then(|s| s.canonical_reason());
            return Reply::error(code, reason.unwrap_or("Internal Server Error"));
        }
    }
    methods::dispatch(shared, &spec.name, &params).await
}
