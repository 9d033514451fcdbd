//! Live events across instances on one PostgreSQL: an operator's queue page open on one
//! instance follows what another did, and a citizen's web chat page open on one instance gets
//! the operator's reply sent through another — also after the connection that listens for
//! them was lost.
//!
//! Each instance's own polls are made too slow to matter (`live_poll_ms`, the dispatcher's
//! `poll_ms`): what crosses instances here crosses by notification.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use sportello::app::{App, Options, Running};
use sportello_core::model::Role;
use sportello_testkit::chat::open;
use sportello_testkit::{ADMIN_PASSWORD, TestApp, TestDb, config};
use sqlx::Connection;

const PATIENCE: Duration = Duration::from_secs(30);
const SLOW: &str = "600000";

/// Instance A, on a new database.
async fn first(db: TestDb) -> TestApp {
    TestApp::start(
        db,
        &[
            ("SPORTELLO_CONSOLE__LIVE_POLL_MS", SLOW),
            ("SPORTELLO_DISPATCHER__POLL_MS", SLOW),
        ],
    )
    .await
}

/// Instance B, on A's database; its console's base URL.
async fn second(url: &str) -> (Running, String) {
    let cfg = config(&[
        ("SPORTELLO_DATABASE__URL", url),
        ("SPORTELLO_CONSOLE__LIVE_POLL_MS", SLOW),
    ]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let options = Options {
        admin_password: Some(ADMIN_PASSWORD.into()),
    };
    let running = App::build_with(cfg, listener, options)
        .await
        .unwrap()
        .spawn();
    running.intake().policy().knowledge().semantic_ready().await;
    let base = format!("http://{}", running.address());
    (running, base)
}

/// Wait until `check` holds, polling.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + PATIENCE;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many sessions listen on `channel` in this database.
async fn listening(url: &str, channel: &str) -> i64 {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar(
        "select count(*) from pg_stat_activity where datname = current_database() \
         and query ilike '%listen%' and query like $1",
    )
    .bind(format!("%{channel}%"))
    .fetch_one(&mut conn)
    .await
    .unwrap()
}

/// End every session that listens for notifications in this database (what a network cut or
/// a PostgreSQL restart does to them); how many were ended.
async fn cut_listeners(url: &str) -> usize {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "select pg_terminate_backend(pid) from pg_stat_activity \
         where datname = current_database() and query ilike '%listen%' and pid <> pg_backend_pid()",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    ended.len()
}

/// A Server-Sent Events stream, read as text.
struct Stream {
    response: reqwest::Response,
    seen: String,
}

impl Stream {
    /// Read until `text` has arrived `n` times in all.
    async fn until(&mut self, text: &str, n: usize) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.seen.matches(text).count() < n {
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("no {n}th {text:?}; got {:?}", self.seen))
                .unwrap()
                .expect("the stream ended");
            self.seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

/// A call to the API of the console at `base`.
async fn api(base: &str, token: &str, method: Method, path: &str, body: Option<Value>) -> Value {
    let mut request = reqwest::Client::new()
        .request(method, format!("{base}/api/v1{path}"))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[tokio::test]
async fn an_operators_queue_page_on_one_instance_follows_handoffs_made_on_another() {
    let a = first(TestDb::postgres().await).await;
    let (_b, b_base) = second(&a.url).await;
    let admin = a.admin().await;
    let response = admin.get("/queue/events").await;
    assert_eq!(response.status(), 200);
    let mut queue = Stream {
        response,
        seen: String::new(),
    };
    eventually("A listens for queue changes", || async {
        listening(&a.url, "sportello_queue").await == 1
    })
    .await;

    // A citizen on B's web chat asks for a person: A's open queue page hears of it.
    let anna = open(&b_base).await;
    anna.say("vorrei parlare con un operatore").await;
    queue.until("event: queue", 1).await;

    // The listening connection is cut: A reconnects, and the page is told to read the queue
    // again, since what happened meanwhile went unannounced.
    let seen = queue.seen.matches("event: queue").count();
    assert!(cut_listeners(&a.url).await >= 1);
    queue.until("event: queue", seen + 1).await;
    eventually("A listens again", || async {
        listening(&a.url, "sportello_queue").await == 1
    })
    .await;
    let seen = queue.seen.matches("event: queue").count();
    let bruno = open(&b_base).await;
    bruno.say("vorrei parlare con un operatore").await;
    queue.until("event: queue", seen + 1).await;
}

#[tokio::test]
async fn a_citizen_on_one_instance_gets_the_reply_an_operator_sent_through_another() {
    let a = first(TestDb::postgres().await).await;
    let (_b, b_base) = second(&a.url).await;
    let token = a.store.create_token("admin", Role::Admin).await.unwrap();
    eventually("both instances listen for web chat deliveries", || async {
        listening(&a.url, "sportello_webchat").await == 2
    })
    .await;

    let chat = a.chat().await;
    let mut live = chat.events().await;
    chat.say("vorrei parlare con un operatore").await;
    let queued = api(
        &b_base,
        &token,
        Method::GET,
        "/conversations?status=queued",
        None,
    )
    .await;
    let id = queued
        .as_array()
        .or_else(|| queued["conversations"].as_array())
        .unwrap()
        .iter()
        .find(|c| c["channel"] == "webchat")
        .unwrap_or_else(|| panic!("the chat is not in the queue: {queued}"))["id"]
        .as_i64()
        .unwrap();
    api(
        &b_base,
        &token,
        Method::POST,
        &format!("/conversations/{id}/claim"),
        None,
    )
    .await;
    let reply = |text: &str| {
        let (b_base, token, text) = (b_base.clone(), token.clone(), text.to_string());
        async move {
            api(
                &b_base,
                &token,
                Method::POST,
                &format!("/conversations/{id}/reply"),
                Some(json!({ "text": text })),
            )
            .await
        }
    };
    reply("Buongiorno, sono Mario dell'URP: come posso aiutarla?").await;
    live.until("sono Mario dell'URP").await;

    // The listening connections are cut: A's open page is told to read its transcript again
    // once A listens again, and later replies arrive live as before.
    assert!(cut_listeners(&a.url).await >= 2);
    live.until("data: {}").await;
    eventually("both instances listen again", || async {
        listening(&a.url, "sportello_webchat").await == 2
    })
    .await;
    reply("Le mando il modulo da compilare.").await;
    live.until("Le mando il modulo").await;
    let transcript = chat.transcript().await;
    let operator: Vec<&str> = transcript
        .iter()
        .filter(|m| m["author"] == "operator")
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(operator.len(), 2, "{transcript:?}");
}
