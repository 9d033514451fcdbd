//! The HTTP edge, on both backends: NUL characters refused with 400 on every route (never a
//! 500 from PostgreSQL), bodies over the limit refused with 413, free text bounded, and
//! `X-Forwarded-For`/`-Proto` believed only from `console.trusted_proxies`.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use sportello_core::model::Role;
use sportello_testkit::{PASSWORD, TestApp, TestDb, client};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NUL: &str = "testo\0nascosto";

enum Call {
    Get(String),
    Form(String, Vec<(&'static str, String)>),
    Json(Method, String, Value),
}

/// Every route a NUL reached the database through (and a few more): each must answer 400.
async fn nul_is_refused_everywhere(app: &TestApp) {
    app.add_user("mario", Role::Operator).await;
    let id = app
        .queue_conversation("telegram", "Anna", "aiuto", None)
        .await;
    let admin = app.admin().await;
    let sheet = json!({ "id": "nul-test", "title": "Titolo", "summary": "Riassunto" });
    assert_eq!(
        admin
            .json(Method::POST, "/api/v1/sheets", Some(sheet))
            .await
            .status(),
        201
    );
    assert_eq!(
        admin
            .post_form(&format!("/queue/{id}/claim"), &[])
            .await
            .status(),
        303
    );
    let messages_before = app.store.messages(id).await.unwrap().len();
    let nul = || NUL.to_string();
    let sheet_form = |id: &str| {
        vec![
            ("id", id.to_string()),
            ("title", nul()),
            ("summary", "Riassunto".to_string()),
            ("status", "published".to_string()),
        ]
    };
    let calls = vec![
        Call::Form(format!("/conversations/{id}/reply"), vec![("text", nul())]),
        Call::Form(format!("/conversations/{id}/note"), vec![("text", nul())]),
        Call::Form("/sheets/new".into(), sheet_form("nul-nuova")),
        Call::Form("/sheets/nul-test".into(), sheet_form("nul-test")),
        Call::Get("/sheets/%00".into()),
        Call::Get("/sheets?q=%00".into()),
        Call::Get("/queue?office=%00".into()),
        Call::Get("/queue?channel=%00".into()),
        Call::Get("/queue/table?office=%00".into()),
        Call::Get("/queue?q=a%00b".into()),
        Call::Get("/stats?office=%00".into()),
        Call::Get("/stats?channel=%00".into()),
        Call::Get("/stats.csv?channel=%00".into()),
        Call::Get("/api/v1/conversations?office=%00".into()),
        Call::Get("/api/v1/conversations?channel=%00".into()),
        Call::Get("/api/v1/stats?office=%00".into()),
        Call::Get("/api/v1/stats?channel=%00".into()),
        Call::Get("/api/v1/sheets/%00".into()),
        Call::Json(
            Method::POST,
            format!("/api/v1/conversations/{id}/reply"),
            json!({ "text": NUL }),
        ),
        Call::Json(
            Method::POST,
            format!("/api/v1/conversations/{id}/notes"),
            json!({ "text": NUL }),
        ),
        Call::Json(
            Method::POST,
            "/api/v1/sheets".into(),
            json!({ "id": "nul-api", "title": NUL, "summary": "Riassunto" }),
        ),
        Call::Json(
            Method::PUT,
            "/api/v1/sheets/nul-test".into(),
            json!({ "id": "nul-test", "title": NUL, "summary": "Riassunto" }),
        ),
        Call::Json(
            Method::POST,
            format!("/api/v1/conversations/{id}/transfer"),
            json!({ "office": NUL }),
        ),
    ];
    for call in &calls {
        let (what, resp) = match call {
            Call::Get(path) => (format!("GET {path}"), admin.get(path).await),
            Call::Form(path, fields) => {
                let fields: Vec<(&str, &str)> =
                    fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                (format!("POST {path}"), admin.post_form(path, &fields).await)
            }
            Call::Json(method, path, body) => (
                format!("{method} {path}"),
                admin.json(method.clone(), path, Some(body.clone())).await,
            ),
        };
        let api = what.contains("/api/");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert_eq!(status, 400, "{what} on {}: {text}", app.db.backend);
        assert!(text.contains("NUL"), "{what}: the answer says why: {text}");
        if api {
            let v: Value = serde_json::from_str(&text).unwrap();
            assert!(v["error"].is_string(), "{what}: {text}");
        }
    }

    // Unauthenticated: the login form and the citizens' chat.
    let anonymous = client();
    let login = anonymous
        .post(format!("{}/login", app.base))
        .form(&[("username", "mario\0"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 400, "login on {}", app.db.backend);
    assert!(login.headers().get("set-cookie").is_none());
    assert!(login.text().await.unwrap().contains("NUL"));
    let chat = app.chat().await;
    let said = chat.post(json!({ "text": NUL, "id": "nul-1" })).await;
    assert_eq!(said.status(), 400, "web chat on {}", app.db.backend);

    // Nothing was stored, and the same requests without the NUL still work.
    assert_eq!(
        app.store.messages(id).await.unwrap().len(),
        messages_before,
        "no reply stored"
    );
    let detail: Value = admin
        .get(&format!("/api/v1/conversations/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        detail["notes"].as_array().map(Vec::len),
        Some(0),
        "{detail}"
    );
    let sheet: Value = admin
        .get("/api/v1/sheets/nul-test")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sheet["sheet"]["title"], "Titolo", "{sheet}");
    assert_eq!(
        admin
            .json(
                Method::POST,
                &format!("/api/v1/conversations/{id}/notes"),
                Some(json!({ "text": "una nota \\u0000 scritta così" })),
            )
            .await
            .status(),
        201,
        "the six characters \\u0000 are text, not a NUL"
    );
    assert_eq!(app.admin().await.get("/queue").await.status(), 200);
    let _ = app.login("mario", PASSWORD).await;
}

#[tokio::test]
async fn a_nul_is_refused_with_400_on_every_route_on_sqlite() {
    nul_is_refused_everywhere(&TestApp::sqlite().await).await;
}

#[tokio::test]
async fn a_nul_is_refused_with_400_on_every_route_on_postgres() {
    nul_is_refused_everywhere(&TestApp::postgres().await).await;
}

/// A raw HTTP/1.1 request with a chunked body of `size` bytes (no length announced); the
/// status line of the answer.
async fn chunked(base: &str, path: &str, headers: &[(&str, &str)], size: usize) -> String {
    let address = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = s.write_all(head.as_bytes()).await;
    let chunk = vec![b'a'; 64 << 10];
    let mut sent = 0;
    while sent < size {
        let frame = format!("{:x}\r\n", chunk.len());
        if s.write_all(frame.as_bytes()).await.is_err()
            || s.write_all(&chunk).await.is_err()
            || s.write_all(b"\r\n").await.is_err()
        {
            break;
        }
        sent += chunk.len();
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

async fn limits(app: &TestApp) {
    let id = app
        .queue_conversation("telegram", "Anna", "aiuto", None)
        .await;
    let admin = app.admin().await;
    admin.post_form(&format!("/queue/{id}/claim"), &[]).await;
    let backend = app.db.backend;

    // 20 MB of JSON to the API: 413 with a JSON message, not 422.
    let huge = json!({ "text": "a".repeat(20 << 20) });
    for path in [
        format!("/api/v1/conversations/{id}/notes"),
        format!("/api/v1/conversations/{id}/reply"),
        "/api/v1/sheets".to_string(),
    ] {
        let resp = admin.json(Method::POST, &path, Some(huge.clone())).await;
        assert_eq!(resp.status(), 413, "{path} on {backend}");
        let v: Value = resp.json().await.unwrap();
        assert!(
            v["error"].as_str().unwrap().contains("limite"),
            "{path}: {v}"
        );
    }
    // The same without announcing its length, and a console form over the limit.
    let status = chunked(
        &app.base,
        &format!("/api/v1/conversations/{id}/notes"),
        &[("Content-Type", "application/json")],
        3 << 20,
    )
    .await;
    assert!(
        status.contains(" 413 "),
        "chunked JSON on {backend}: {status}"
    );
    let resp = admin
        .post_form(
            &format!("/conversations/{id}/note"),
            &[("text", &"a".repeat(2 << 20))],
        )
        .await;
    assert_eq!(resp.status(), 413, "a console form on {backend}");
    assert!(resp.text().await.unwrap().contains("limite"));

    // Notes: at most NOTE_LIMIT characters, said in Italian on the page and in the API.
    let limit = sportello_console::actions::NOTE_LIMIT;
    let long = "è".repeat(limit + 1);
    let resp = admin
        .json(
            Method::POST,
            &format!("/api/v1/conversations/{id}/notes"),
            Some(json!({ "text": long })),
        )
        .await;
    assert_eq!(resp.status(), 422, "a long note on {backend}");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        v["error"],
        format!("La nota ha {} caratteri: al massimo {limit}.", limit + 1)
    );
    let page = admin
        .post_form(&format!("/conversations/{id}/note"), &[("text", &long)])
        .await;
    assert_eq!(page.status(), 422);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains(&format!("La nota ha {} caratteri", limit + 1))
    );
    let fits = "è".repeat(limit);
    assert_eq!(
        admin
            .json(
                Method::POST,
                &format!("/api/v1/conversations/{id}/notes"),
                Some(json!({ "text": fits })),
            )
            .await
            .status(),
        201
    );
    let detail: Value = admin
        .get(&format!("/api/v1/conversations/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["notes"].as_array().unwrap().len(), 1, "{backend}");

    // A sheet's title and body are bounded too.
    let title = "t".repeat(sportello_faq::TITLE_MAX + 1);
    let resp = admin
        .json(
            Method::POST,
            "/api/v1/sheets",
            Some(json!({ "id": "lunga", "title": title, "summary": "Riassunto" })),
        )
        .await;
    assert_eq!(resp.status(), 422);
    let v: Value = resp.json().await.unwrap();
    assert!(v["fields"]["title"].is_string(), "{v}");
    let body = "b".repeat(sportello_faq::BODY_MAX + 1);
    let page = admin
        .post_form(
            "/sheets/new",
            &[
                ("id", "lunga"),
                ("title", "Titolo"),
                ("summary", "Riassunto"),
                ("body", &body),
                ("status", "published"),
            ],
        )
        .await;
    assert_eq!(page.status(), 422);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains(&format!("al massimo {}", sportello_faq::BODY_MAX))
    );
    // The statistics page shows each channel's receiving and sending apart.
    let stats = admin.get("/stats").await.text().await.unwrap();
    assert!(stats.contains("Ricezione") && stats.contains("Invio"));
    assert!(stats.contains(r#"<td class="send">"#), "{backend}");
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_and_notes_are_bounded_on_sqlite() {
    limits(&TestApp::sqlite().await).await;
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_and_notes_are_bounded_on_postgres() {
    limits(&TestApp::postgres().await).await;
}

/// A failed login from `forwarded` (an `X-Forwarded-For` value); its status.
async fn fail_login(app: &TestApp, n: usize, forwarded: &str) -> u16 {
    client()
        .post(format!("{}/login", app.base))
        .header("X-Forwarded-For", forwarded)
        .form(&[
            ("username", format!("ghost{n}")),
            ("password", "wrong".into()),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn cookie_of_login(app: &TestApp, proto: &str) -> String {
    let resp = client()
        .post(format!("{}/login", app.base))
        .header("X-Forwarded-Proto", proto)
        .form(&[
            ("username", "admin"),
            ("password", sportello_testkit::ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    resp.headers()["set-cookie"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn forwarded_headers_from_an_untrusted_peer_are_ignored() {
    let app = TestApp::sqlite_with(&[
        ("SPORTELLO_WEBCHAT__RATE_PER_SESSION", "100"),
        ("SPORTELLO_WEBCHAT__RATE_PER_IP", "3"),
    ])
    .await;
    assert!(
        !cookie_of_login(&app, "https").await.contains("Secure"),
        "X-Forwarded-Proto from anyone does not make the cookie Secure"
    );
    let max = sportello_console::auth::MAX_FAILURES_PER_ADDRESS as usize;
    for n in 0..max {
        assert_eq!(fail_login(&app, n, &format!("198.51.100.{n}")).await, 401);
    }
    assert_eq!(
        fail_login(&app, max, "198.51.100.250").await,
        429,
        "a forged X-Forwarded-For does not escape the address's limit"
    );
    let chat_cookie = client()
        .get(format!("{}/chat", app.base))
        .header("X-Forwarded-Proto", "https")
        .send()
        .await
        .unwrap()
        .headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(!chat_cookie.contains("Secure"), "{chat_cookie}");

    // The web chat counts the TCP peer, whatever the header says.
    for n in 0..3 {
        let chat = app.chat().await;
        let r = chat
            .client
            .post(format!("{}/chat/messages", app.base))
            .header("X-CSRF-Token", &chat.csrf)
            .header("X-Forwarded-For", format!("198.51.100.{n}"))
            .json(&json!({ "text": "ciao", "id": format!("u-{n}") }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let chat = app.chat().await;
    let r = chat
        .client
        .post(format!("{}/chat/messages", app.base))
        .header("X-CSRF-Token", &chat.csrf)
        .header("X-Forwarded-For", "198.51.100.99")
        .json(&json!({ "text": "ciao", "id": "u-99" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
}

#[tokio::test]
async fn from_a_trusted_proxy_the_forwarded_client_is_the_one_limited() {
    let app = TestApp::sqlite_with(&[
        ("SPORTELLO_CONSOLE__TRUSTED_PROXIES", r#"["127.0.0.1/32"]"#),
        ("SPORTELLO_WEBCHAT__RATE_PER_SESSION", "100"),
        ("SPORTELLO_WEBCHAT__RATE_PER_IP", "3"),
    ])
    .await;
    let max = sportello_console::auth::MAX_FAILURES_PER_ADDRESS as usize;
    for n in 0..max {
        assert_eq!(fail_login(&app, n, "203.0.113.7").await, 401);
    }
    assert_eq!(fail_login(&app, max, "203.0.113.7").await, 429);
    assert_eq!(
        fail_login(&app, max + 1, "203.0.113.8").await,
        401,
        "another client behind the same proxy is not locked out"
    );
    assert_eq!(
        fail_login(&app, max + 2, "203.0.113.8, 203.0.113.7").await,
        429,
        "the right-most address is the client's; what it claimed before is not believed"
    );
    let failures: Vec<String> =
        sqlx::query_scalar("select distinct address from login_failures order by address")
            .fetch_all(app.store.pool())
            .await
            .unwrap();
    assert_eq!(
        failures,
        ["203.0.113.7", "203.0.113.8"],
        "never the proxy's"
    );
    assert!(cookie_of_login(&app, "https").await.contains("Secure"));
    assert!(!cookie_of_login(&app, "http").await.contains("Secure"));

    let say = |from: &'static str, n: usize| {
        let base = app.base.clone();
        async move {
            let chat = sportello_testkit::chat::open(&base).await;
            chat.client
                .post(format!("{base}/chat/messages"))
                .header("X-CSRF-Token", &chat.csrf)
                .header("X-Forwarded-For", from)
                .json(&json!({ "text": "ciao", "id": format!("t-{n}") }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for n in 0..3 {
        assert_eq!(say("192.0.2.1", n).await, 200);
    }
    assert_eq!(say("192.0.2.1", 3).await, 429);
    assert_eq!(say("192.0.2.2", 4).await, 200, "another client");
}

/// A TCP relay to PostgreSQL that can stop answering: connections stay open, bytes stop
/// flowing, and new connections are accepted but never served.
struct Relay {
    address: String,
    frozen: tokio::sync::watch::Sender<bool>,
}

impl Relay {
    async fn start(target: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (frozen, watch) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let (target, watch) = (target.clone(), watch.clone());
                tokio::spawn(async move {
                    if *watch.borrow() {
                        // Held open, never answered.
                        std::future::pending::<()>().await;
                    }
                    let Ok(outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    let (ri, wi) = inbound.into_split();
                    let (ro, wo) = outbound.into_split();
                    tokio::join!(pump(ri, wo, watch.clone()), pump(ro, wi, watch));
                });
            }
        });
        Self { address, frozen }
    }

    fn freeze(&self) {
        self.frozen.send_replace(true);
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: tokio::sync::watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 16 << 10];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if *frozen.borrow() {
            std::future::pending::<()>().await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn healthz_answers_503_while_the_database_does_not_answer() {
    let db = TestDb::postgres().await;
    let (head, rest) = db.url.split_once("@").unwrap();
    let (host, name) = rest.split_once('/').unwrap();
    let relay = Relay::start(host.to_string()).await;
    let relayed = format!("{head}@{}/{name}", relay.address);
    // The pool would wait an hour for a connection: only /healthz's own bound can answer.
    let app = TestApp::start(
        db,
        &[
            ("SPORTELLO_DATABASE__URL", relayed.as_str()),
            ("SPORTELLO_DATABASE__TIMEOUT_SECS", "3600"),
        ],
    )
    .await;
    let health: Value = client()
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["database"]["ok"], true, "{health}");
    // Receiving and sending are reported apart, beside the fields tools already read.
    let chat = &health["channels"]["webchat"];
    for key in [
        "running",
        "last_ok_ms",
        "consecutive_errors",
        "receive",
        "send",
    ] {
        assert!(chat.get(key).is_some(), "{key} missing: {chat}");
    }
    assert!(chat["receive"]["last_ok_ms"].is_i64(), "{chat}");
    assert_eq!(chat["send"]["consecutive_errors"], 0);

    relay.freeze();
    // Without the probe's own bound this request waits for the pool (an hour): the client
    // gives up long before, and the test fails.
    let resp = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .expect("/healthz answers while the database does not");
    assert_eq!(resp.status(), 503);
    let health: Value = resp.json().await.unwrap();
    assert_eq!(health["status"], "down", "{health}");
    assert_eq!(health["database"]["ok"], false);
    assert!(health["database"]["error"].is_string(), "{health}");
}
