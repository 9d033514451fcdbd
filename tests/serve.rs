//! `sportello serve` as an operator starts and stops it, on SQLite and on PostgreSQL.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Served {
    child: Child,
    base: String,
}

impl Served {
    fn start(database_url: &str) -> Self {
        Self::start_with(database_url, &[])
    }

    fn start_with(database_url: &str, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_sportello"))
            .envs(env.iter().copied())
            .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")))
            .arg("serve")
            .env("SPORTELLO_DATABASE__URL", database_url)
            .env("SPORTELLO_CONSOLE__BIND", format!("127.0.0.1:{port}"))
            .env("SPORTELLO_ADMIN_PASSWORD", "test-admin-password")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Wait until `/healthz` answers (the process may still be migrating).
    async fn healthz(&mut self) -> (u16, serde_json::Value) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(resp) = reqwest::get(format!("{}/healthz", self.base)).await {
                let status = resp.status().as_u16();
                return (status, resp.json().await.unwrap());
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("serve exited early with {status}");
            }
            assert!(Instant::now() < deadline, "serve did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, then the exit status and the logs.
    fn terminate(mut self) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let out = std::mem::replace(&mut self.child, Command::new("true").spawn().unwrap())
            .wait_with_output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// A new PostgreSQL database: its URL, its name, and an admin connection to drop it.
async fn fresh_postgres(prefix: &str) -> (String, String, sqlx::PgConnection) {
    let admin = std::env::var("SPORTELLO_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("{prefix}_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("PostgreSQL must be running");
    sqlx::query(&format!("drop database if exists {name} with (force)"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(&format!("create database {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').unwrap().0;
    (format!("{base}/{name}"), name, conn)
}

async fn check_serving(url: &str, backend: &str) {
    let mut served = Served::start(url);
    let (status, health) = served.healthz().await;
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
        !logs.contains("test-admin-password"),
        "the admin password is never logged"
    );
}

#[tokio::test]
async fn serve_on_sqlite_is_healthy_and_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    check_serving(
        &format!(
            "sqlite://{}",
            dir.path().join("data/sportello.db").display()
        ),
        "sqlite",
    )
    .await;
}

#[tokio::test]
async fn serve_on_postgres_is_healthy_and_exits_0_on_sigterm() {
    let (url, name, mut conn) = fresh_postgres("sportello_test_serve").await;
    check_serving(&url, "postgres").await;
    sqlx::query(&format!("drop database if exists {name} with (force)"))
        .execute(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn serve_refuses_a_channel_this_version_cannot_run_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sportello"))
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .arg("serve")
        .env(
            "SPORTELLO_DATABASE__URL",
            format!("sqlite://{}", dir.path().join("s.db").display()),
        )
        .env(
            "SPORTELLO_CONSOLE__BIND",
            format!("127.0.0.1:{}", free_port()),
        )
        .env("SPORTELLO_EMAIL__ENABLED", "true")
        .env("SPORTELLO_EMAIL__USERNAME", "urp")
        .env("SPORTELLO_EMAIL__ADDRESS", "urp@example.org")
        .env("SPORTELLO_EMAIL__PASSWORD", "a-test-password")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("email.enabled"));
}

#[tokio::test]
async fn logs_are_json_lines_when_asked_and_hold_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let mut served = Served::start_with(
        &url,
        &[
            ("SPORTELLO_LOG_FORMAT", "json"),
            ("SPORTELLO_TELEGRAM__TOKEN", "123456:secret-token"),
        ],
    );
    assert_eq!(served.healthz().await.0, 200);
    let (code, logs) = served.terminate();
    assert_eq!(code, Some(0));
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
    assert!(!logs.contains("secret-token"));
}

#[tokio::test]
async fn healthz_reports_a_lost_database_with_503_and_serve_still_stops_cleanly() {
    let (url, name, mut conn) = fresh_postgres("sportello_test_lost").await;
    let mut served = Served::start_with(&url, &[("SPORTELLO_DATABASE__TIMEOUT_SECS", "1")]);
    assert_eq!(served.healthz().await.0, 200);
    sqlx::query(&format!("drop database {name} with (force)"))
        .execute(&mut conn)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let (status, health) = loop {
        let (status, health) = served.healthz().await;
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
