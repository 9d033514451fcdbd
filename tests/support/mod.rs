//! What the console's end-to-end tests share: a real `sportello serve` on a free port over a
//! fresh SQLite file or PostgreSQL database, a store on the same database to seed
//! conversations as a channel would, and a logged-in HTTP client.
#![allow(dead_code)]

pub mod browser;

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sportello_core::config::Texts;
use sportello_core::health::Health;
use sportello_core::intake::{Intake, Receipt};
use sportello_core::model::{Action, Attachment, Inbound, Role};
use sportello_core::policy::Policy;
use sportello_core::store::Store;
use sportello_faq::{Matcher, MatcherParams, Synonyms};
use sqlx::Connection;

pub mod chat;

/// A free TCP port on localhost.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The admin's password in every test server.
pub const ADMIN_PASSWORD: &str = "test-admin-password";
/// The password of the users tests add.
pub const PASSWORD: &str = "password-of-a-test-user";

/// Which database a test runs on.
pub enum Db {
    /// A SQLite file in a temporary folder.
    Sqlite(tempfile::TempDir),
    /// A fresh PostgreSQL database, dropped at the end.
    Postgres(String),
}

/// A running `sportello serve` and a store on its database.
pub struct App {
    child: Option<Child>,
    logs: Arc<Mutex<String>>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The database URL.
    pub url: String,
    /// The store, on the same database.
    pub store: Store,
    intake: Intake,
    db: Db,
    seq: std::sync::atomic::AtomicU64,
}

async fn fresh_postgres(prefix: &str) -> (String, String) {
    let admin = std::env::var("SPORTELLO_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("{prefix}_{}_{}", std::process::id(), free_port());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("PostgreSQL must be running");
    sqlx::query(&format!("create database {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').unwrap().0;
    (format!("{base}/{name}"), name)
}

impl App {
    /// Serve on a fresh SQLite file.
    pub async fn sqlite() -> Self {
        Self::sqlite_with(&[]).await
    }

    /// Serve on a fresh SQLite file with extra environment.
    pub async fn sqlite_with(env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("sportello.db").display());
        Self::start(url, Db::Sqlite(dir), env).await
    }

    /// Serve on a fresh PostgreSQL database.
    pub async fn postgres() -> Self {
        let (url, name) = fresh_postgres("sportello_test_console").await;
        Self::start(url, Db::Postgres(name), &[]).await
    }

    async fn start(url: String, db: Db, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_sportello"))
            .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")))
            .arg("serve")
            .env("SPORTELLO_DATABASE__URL", &url)
            .env("SPORTELLO_CONSOLE__BIND", format!("127.0.0.1:{port}"))
            .env("SPORTELLO_CONSOLE__LIVE_POLL_MS", "200")
            .env("SPORTELLO_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let mut child = child;
        // Read the logs as they come, so that a chatty server never blocks on a full pipe.
        let logs = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().unwrap();
        let sink = logs.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut app_child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = reqwest::get(format!("{base}/healthz")).await
                && r.status().is_success()
            {
                break;
            }
            if let Some(status) = app_child.as_mut().unwrap().try_wait().unwrap() {
                panic!("serve exited early with {status}");
            }
            assert!(Instant::now() < deadline, "serve did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let store = Store::connect(&url, 4, Duration::from_secs(10))
            .await
            .unwrap();
        let matcher = Matcher::new(&[], &Synonyms::default(), MatcherParams::default());
        let policy = Arc::new(Policy::new(matcher, &[], Texts::default()));
        let intake = Intake::new(store.clone(), policy, Arc::new(Health::new(store.clock())));
        Self {
            child: app_child,
            logs,
            base,
            url,
            store,
            intake,
            db,
            seq: Default::default(),
        }
    }

    /// A citizen asks for a person on `channel`: a conversation in the queue. Returns its id.
    pub async fn queue_conversation(
        &self,
        channel: &str,
        name: &str,
        text: &str,
        subject: Option<&str>,
    ) -> i64 {
        let n = self.seq.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let sender = format!("citizen-{n}");
        let mut inbound = Inbound::text(
            channel,
            format!("m-{n}-{}", free_port()),
            &sender,
            &format!("thread-{n}"),
            text,
        );
        inbound.sender.display_name = name.to_string();
        inbound.subject = subject.map(str::to_string);
        inbound.action = Action::RequestOperator;
        match self.intake.receive(inbound).await.unwrap() {
            Receipt::Stored {
                conversation_id, ..
            } => conversation_id,
            other => panic!("{other:?}"),
        }
    }

    /// A citizen writes on `channel` in `thread`, and the bot decides with the shipped sheets
    /// (as `sportello serve` would, with the default configuration). Returns the conversation.
    pub async fn citizen_writes(
        &self,
        channel: &str,
        thread: &str,
        text: &str,
        attachments: Vec<Attachment>,
    ) -> i64 {
        let n = self.seq.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut inbound = Inbound::text(
            channel,
            format!("w-{n}-{}", free_port()),
            thread,
            thread,
            text,
        );
        inbound.attachments = attachments;
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let offices = sportello_faq::load_offices(&root.join("config/offices.toml")).unwrap();
        let sheets = sportello_faq::load_sheets(&root.join("config/sheets"), &offices)
            .unwrap()
            .sheets;
        let synonyms = sportello_faq::load_synonyms(&root.join("config/synonyms.toml")).unwrap();
        let matcher = Matcher::new(&sheets, &synonyms, MatcherParams::default());
        let policy = Arc::new(Policy::new(matcher, &offices, Texts::default()));
        let bot = Intake::new(
            self.store.clone(),
            policy,
            Arc::new(Health::new(self.store.clock())),
        );
        match bot.receive(inbound).await.unwrap() {
            Receipt::Stored {
                conversation_id, ..
            } => conversation_id,
            other => panic!("{other:?}"),
        }
    }

    /// Add a user with [`PASSWORD`].
    pub async fn add_user(&self, name: &str, role: Role) -> i64 {
        self.store.add_user(name, role, PASSWORD).await.unwrap()
    }

    /// An HTTP client that does not follow redirects and keeps cookies.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// Log in; the client holds the session, the CSRF token is returned with it.
    pub async fn login(&self, name: &str, password: &str) -> Session {
        let client = self.client();
        let resp = client
            .post(format!("{}/login", self.base))
            .form(&[("username", name), ("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 303, "login of {name} failed");
        // Editors have a home page of their own; the others are sent to the queue.
        let mut home = client.get(format!("{}/", self.base)).send().await.unwrap();
        if home.status() == 303 {
            let to = home.headers()["location"].to_str().unwrap().to_string();
            home = client
                .get(format!("{}{to}", self.base))
                .send()
                .await
                .unwrap();
        }
        let page = home.text().await.unwrap();
        let csrf = csrf_of(&page).unwrap_or_default();
        Session {
            client,
            csrf,
            base: self.base.clone(),
        }
    }

    /// Log in as `admin`.
    pub async fn admin(&self) -> Session {
        self.login("admin", ADMIN_PASSWORD).await
    }

    /// Stop the server with SIGTERM; its exit code and its logs.
    pub fn terminate(&mut self) -> (Option<i32>, String) {
        let mut child = self.child.take().expect("already stopped");
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let status = child.wait().unwrap();
        // The reader thread gets the last lines once the pipe closes.
        std::thread::sleep(Duration::from_millis(200));
        (status.code(), self.logs.lock().unwrap().clone())
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Db::Postgres(name) = &self.db {
            let admin = std::env::var("SPORTELLO_TEST_POSTGRES")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let _ = Command::new("psql")
                .args([
                    admin.as_str(),
                    "-qc",
                    &format!("drop database if exists {name} with (force)"),
                ])
                .output();
        }
    }
}

/// The CSRF token of a page (its `<meta name="csrf-token">`).
pub fn csrf_of(page: &str) -> Option<String> {
    let at = page.find(r#"name="csrf-token" content=""#)?;
    let rest = &page[at + r#"name="csrf-token" content=""#.len()..];
    Some(rest[..rest.find('"')?].to_string())
}

/// A logged-in client.
pub struct Session {
    /// The client, holding the cookie.
    pub client: reqwest::Client,
    /// The session's CSRF token.
    pub csrf: String,
    base: String,
}

impl Session {
    /// GET a path.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    /// POST a form to a path, with the CSRF token.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf", &self.csrf));
        self.client
            .post(format!("{}{path}", self.base))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// POST a multipart form (the CSRF token first, as the console's forms have it), with
    /// a file under `file` when given as `(name, bytes)`.
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file: Option<(&str, Vec<u8>)>,
    ) -> reqwest::Response {
        let mut form = reqwest::multipart::Form::new().text("csrf", self.csrf.clone());
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        if let Some((name, bytes)) = file {
            form = form.part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
            );
        }
        self.client
            .post(format!("{}{path}", self.base))
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// Send JSON with the CSRF header.
    pub async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("X-CSRF-Token", &self.csrf);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }
}
