//! Databases and fixtures for tests: a fresh SQLite file or PostgreSQL database per test,
//! dropped with it; three small sheets and a pipeline over them with an in-memory channel. In the library (not in a test folder) because the core's tests, the end-to-end tests
//! and the benchmarks all need it, and a test folder cannot be shared between crates.
//!
//! PostgreSQL is the server at `SPORTELLO_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`, trust authentication); each database is
//! named `sportello_test_…`, so a run interrupted before its drops can be cleaned up.

pub mod history;

use std::sync::Arc;
use std::time::Duration;

use sportello_faq::{Matcher, MatcherParams, Office, Sheet, Synonyms};
use sqlx::Connection;

use crate::channel::{ChannelCaps, MemoryChannel};
use crate::clock::Clock;
use crate::config::Texts;
use crate::health::Health;
use crate::intake::Intake;
use crate::model::Inbound;
use crate::policy::Policy;
use crate::store::Store;

/// The PostgreSQL server's admin URL.
pub fn postgres_admin() -> String {
    std::env::var("SPORTELLO_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database created for one test, dropped with it.
pub struct TestDb {
    /// Its URL.
    pub url: String,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A new SQLite file in a temporary folder.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        Self {
            url,
            backend: "sqlite",
            pg_name: None,
            _dir: Some(dir),
        }
    }

    /// A new PostgreSQL database.
    pub async fn postgres() -> Self {
        let admin = postgres_admin();
        let name = format!(
            "sportello_test_{}_{}",
            std::process::id(),
            rand::random::<u32>()
        );
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| {
                panic!("PostgreSQL must be running at {admin} for the store tests: {e}")
            });
        sqlx::query(&format!("create database {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap();
        Self {
            url: format!("{base}/{name}"),
            backend: "postgres",
            pg_name: Some(name),
            _dir: None,
        }
    }

    /// Both backends.
    pub async fn both() -> Vec<Self> {
        vec![Self::sqlite(), Self::postgres().await]
    }

    /// Drop a PostgreSQL database now, with every connection to it (a database lost under a
    /// running server).
    pub async fn drop_now(&self) {
        let Some(name) = &self.pg_name else { return };
        let mut conn = sqlx::PgConnection::connect(&postgres_admin())
            .await
            .unwrap();
        sqlx::query(&format!("drop database if exists {name} with (force)"))
            .execute(&mut conn)
            .await
            .unwrap();
    }

    /// A migrated store on it.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url, 8, Duration::from_secs(10))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        let admin = postgres_admin();
        // Drop needs async I/O, and we may be inside a runtime: use a thread of our own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(&format!("drop database if exists {name} with (force)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

/// Three small sheets, one of which always goes to an operator.
pub fn sheets() -> Vec<Sheet> {
    let sheet = |id: &str, title: &str, summary: &str, handoff: bool| Sheet {
        id: id.into(),
        title: title.into(),
        summary: summary.into(),
        questions: vec![format!("come funziona {title}")],
        office: Some("urp".into()),
        link: Some(format!("https://example.org/{id}")),
        handoff,
        ..Sheet::default()
    };
    vec![
        sheet(
            "pink-card",
            "Pink Card",
            "La Pink Card è una carta di sconti per le donne residenti.",
            false,
        ),
        sheet(
            "passo-carraio",
            "Passo carraio",
            "Il passo carraio si chiede all'ufficio strade.",
            false,
        ),
        sheet(
            "reclami",
            "Reclami",
            "I reclami sono registrati da un operatore.",
            true,
        ),
    ]
}

/// The office the test sheets name.
pub fn offices() -> Vec<Office> {
    vec![Office {
        id: "urp".into(),
        name: "URP".into(),
        email: "urp@example.org".into(),
        phone: "800 000 000".into(),
        address: String::new(),
        hours: String::new(),
    }]
}

/// Intake over `store` with the test sheets, and a memory channel `mem` registered.
pub async fn pipeline(store: &Store) -> (Arc<Intake>, Arc<MemoryChannel>) {
    store.sync_offices(&offices()).await.unwrap();
    let matcher = Matcher::new(&sheets(), &Synonyms::default(), MatcherParams::default());
    let policy = Arc::new(Policy::new(matcher, &offices(), Texts::default()));
    let health = Arc::new(Health::new(store.clock()));
    let intake = Arc::new(Intake::new(store.clone(), policy, health));
    let channel = MemoryChannel::new("mem", ChannelCaps::default());
    channel.use_clock(store.clock());
    intake.register("mem", ChannelCaps::default());
    (intake, channel)
}

/// A text message on the memory channel.
pub fn text(id: &str, who: &str, body: &str) -> Inbound {
    Inbound::text("mem", id, who, who, body)
}

/// A fresh clock.
pub fn clock() -> Clock {
    Clock::new()
}
