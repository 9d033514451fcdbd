//! `sportello serve` as an operator starts and stops it, on SQLite and on PostgreSQL.

use std::process::Command;
use std::time::{Duration, Instant};

use sportello_testkit::served::Runs;
use sportello_testkit::{ADMIN_PASSWORD, TestDb, root};

/// `sportello serve` on `database_url` (with its log in `dir`), with `env`.
async fn serve(dir: tempfile::TempDir, database_url: &str, env: &[(&str, &str)]) -> Runs {
    let mut served = Runs::on(dir, database_url.to_string());
    for (key, value) in env {
        served.env(key, value);
    }
    served.start(env!("CARGO_BIN_EXE_sportello"), &[]).await;
    served
}

/// `/healthz`: its status and body.
async fn healthz(served: &Runs) -> (u16, serde_json::Value) {
    let resp = reqwest::get(format!("{}/healthz", served.base))
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn check_serving(dir: tempfile::TempDir, url: &str, backend: &str) {
    let mut served = serve(dir, url, &[]).await;
    let (status, health) = healthz(&served).await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["database"]["backend"], backend);
    assert_eq!(health["database"]["ok"], true);
    assert_eq!(health["outbox"]["failed"], 0);
    let metrics = reqwest::get(format!("{}/metrics", served.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "sportello_messages_in_total",
        "sportello_decisions_total",
        "sportello_queue_length",
        "sportello_outbox_failed",
    ] {
        assert!(
            metrics.contains(&format!("# TYPE {name} ")),
            "{name} missing from /metrics"
        );
    }
    let (code, logs) = served.terminate();
    assert_eq!(code, Some(0), "{logs}");
    assert!(
        logs.contains("imported sheets into an empty store"),
        "{logs}"
    );
    assert!(logs.contains("stopped"), "{logs}");
    assert!(
        logs.contains("sportello user passwd admin"),
        "the first start says how to change the admin's password: {logs}"
    );
    assert!(
        !logs.contains(ADMIN_PASSWORD),
        "the admin password is never logged"
    );
}

#[tokio::test]
async fn serve_on_sqlite_is_healthy_and_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}",
        dir.path().join("data/sportello.db").display()
    );
    check_serving(dir, &url, "sqlite").await;
}

#[tokio::test]
async fn serve_on_postgres_is_healthy_and_exits_0_on_sigterm() {
    let db = TestDb::postgres().await;
    check_serving(tempfile::tempdir().unwrap(), &db.url, "postgres").await;
}

#[tokio::test]
async fn serve_refuses_an_enabled_channel_missing_a_secret_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sportello"))
        .current_dir(root())
        .arg("serve")
        .env(
            "SPORTELLO_DATABASE__URL",
            format!("sqlite://{}", dir.path().join("s.db").display()),
        )
        .env("SPORTELLO_CONSOLE__BIND", "127.0.0.1:0")
        .env("SPORTELLO_EMAIL__ENABLED", "true")
        .env("SPORTELLO_EMAIL__USERNAME", "urp")
        .env("SPORTELLO_EMAIL__ADDRESS", "urp@example.org")
        .env_remove("SPORTELLO_EMAIL__PASSWORD")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a configuration error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("email.password"), "{stderr}");
    assert!(stderr.contains("SPORTELLO_EMAIL__PASSWORD"), "{stderr}");
}

/// The Telegram bot token the double and the office share.
const TELEGRAM_TOKEN: &str = "123456:telegram-token-NEVER-LOGGED";
/// The X app's secret.
const X_SECRET: &str = "x-client-secret-NEVER-LOGGED";
/// The database password (the test server trusts local connections, so any password works:
/// it is in the URL the process is given, which is what could reach a log).
const DB_PASSWORD: &str = "db-password-NEVER-LOGGED";

/// `url` with [`DB_PASSWORD`] as its password, unless it has one already; and the password.
fn with_password(url: &str) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (user, host) = rest.split_once('@').unwrap();
    match user.split_once(':') {
        Some((_, password)) => (url.to_string(), password.to_string()),
        None => (
            format!("{scheme}://{user}:{DB_PASSWORD}@{host}"),
            DB_PASSWORD.to_string(),
        ),
    }
}

#[tokio::test]
async fn logs_are_json_lines_when_asked_and_hold_no_secret() {
    use sportello_doubles::telegram::TelegramDouble;
    use sportello_doubles::x::{ACCOUNT_ID, XDouble};
    let patience = Duration::from_secs(30);
    let db = TestDb::postgres().await;
    let (url, db_password) = with_password(&db.url);
    let telegram = TelegramDouble::start(TELEGRAM_TOKEN).await;
    let x = XDouble::start("sportello-test-app", Some(X_SECRET)).await;
    x.add_user("2001", "anna_r", "Anna Rossi", true);
    let x_refresh = x.issue_refresh_token();
    let tokens_before = x.tokens_issued();
    let mut served = serve(
        tempfile::tempdir().unwrap(),
        &url,
        &[
            ("SPORTELLO_LOG_FORMAT", "json"),
            // Debug lines too: whatever a library logs about its requests.
            ("RUST_LOG", "debug"),
            ("SPORTELLO_TELEGRAM__ENABLED", "true"),
            ("SPORTELLO_TELEGRAM__TOKEN", TELEGRAM_TOKEN),
            ("SPORTELLO_TELEGRAM__API_URL", &telegram.api_url()),
            ("SPORTELLO_TELEGRAM__POLL_TIMEOUT_SECS", "1"),
            ("SPORTELLO_X__ENABLED", "true"),
            ("SPORTELLO_X__API_URL", &x.api_url()),
            ("SPORTELLO_X__USER_ID", ACCOUNT_ID),
            ("SPORTELLO_X__CLIENT_ID", "sportello-test-app"),
            ("SPORTELLO_X__CLIENT_SECRET", X_SECRET),
            ("SPORTELLO_X__REFRESH_TOKEN", &x_refresh),
            ("SPORTELLO_X__POLL_SECS", "1"),
        ],
    )
    .await;
    assert_eq!(healthz(&served).await.0, 200);
    // Every secret is used: the bot token polls and sends, the X secret refreshes the token
    // with which the office reads a mention and answers it, the password opens the database.
    telegram.push_text(1001, "Anna", "orari urp");
    let sent = telegram.wait_sent(1001, 1, patience).await;
    assert_eq!(sent.len(), 1, "a Telegram reply: {}", served.logs());
    assert!(!telegram.calls("getUpdates").is_empty());
    x.mention("2001", "orari dell'URP");
    let posted = x.wait_posted(1, patience).await;
    assert_eq!(posted.len(), 1, "an X reply: {}", served.logs());
    assert!(
        x.tokens_issued() > tokens_before,
        "the office refreshed its X token with the client secret"
    );
    // The whole log: the process has exited and closed it.
    let (code, logs) = served.terminate();
    assert_eq!(code, Some(0), "{logs}");
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "sportello is serving"),
        "{logs}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l["level"].is_string() && l["timestamp"].is_string())
    );
    assert!(
        lines.iter().any(|l| l["fields"]["message"] == "stopped"),
        "the log is read to its end: {:?}",
        lines.last()
    );
    let leaked: Vec<&str> = [
        ("the Telegram token", TELEGRAM_TOKEN),
        (
            "the Telegram token's secret part",
            TELEGRAM_TOKEN.split_once(':').unwrap().1,
        ),
        ("the X client secret", X_SECRET),
        ("the X refresh token", x_refresh.as_str()),
        ("the database password", db_password.as_str()),
        ("the admin password", ADMIN_PASSWORD),
    ]
    .into_iter()
    .filter(|(_, secret)| logs.contains(secret))
    .map(|(what, _)| what)
    .collect();
    assert!(leaked.is_empty(), "in the logs: {leaked:?}");
}

#[tokio::test]
async fn healthz_reports_a_lost_database_with_503_and_serve_still_stops_cleanly() {
    let db = TestDb::postgres().await;
    let mut served = serve(
        tempfile::tempdir().unwrap(),
        &db.url,
        &[("SPORTELLO_DATABASE__TIMEOUT_SECS", "1")],
    )
    .await;
    assert_eq!(healthz(&served).await.0, 200);
    db.drop_now().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let (status, health) = loop {
        let (status, health) = healthz(&served).await;
        if status != 200 || Instant::now() > deadline {
            break (status, health);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(status, 503, "{health}");
    assert_eq!(health["status"], "down");
    assert_eq!(health["database"]["ok"], false);
    assert!(
        health["database"]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
    );
    let (code, logs) = served.terminate();
    assert_eq!(code, Some(0), "{logs}");
}
