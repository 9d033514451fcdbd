//! A running `sportello serve` with its email channel on the private mail servers, and the
//! helpers the tests share.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sportello_core::store::Store;
use sportello_testkit::served::served_address;

use crate::servers::{MailServers, OFFICE, PASSWORD};

/// How long a test waits for something that should happen promptly.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// One office: the mail servers, a SQLite database and the serve process when running.
pub struct Office {
    pub mail: MailServers,
    pub dir: tempfile::TempDir,
    pub db_url: String,
    /// The console's address of the current run (it binds port 0, so each run has its own).
    pub base: String,
    env: Vec<(String, String)>,
    child: Option<Child>,
    runs: usize,
}

impl Office {
    /// Mail servers up, Sportello not started yet, on a SQLite file.
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db_url = format!("sqlite://{}", dir.path().join("sportello.db").display());
        Self::with_database(dir, db_url, true).await
    }

    /// On a SQLite file, with a Dovecot that does not offer IDLE.
    pub async fn without_idle() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db_url = format!("sqlite://{}", dir.path().join("sportello.db").display());
        Self::with_database(dir, db_url, false).await
    }

    /// The same on a fresh PostgreSQL database (`SPORTELLO_TEST_POSTGRES`); `scripts/test`
    /// drops the databases tests leave behind.
    pub async fn postgres() -> Self {
        use sqlx::Connection;
        let admin = std::env::var("SPORTELLO_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!(
            "sportello_test_email_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("PostgreSQL must be running");
        sqlx::query(&format!("create database {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let base = admin.rsplit_once('/').unwrap().0;
        Self::with_database(tempfile::tempdir().unwrap(), format!("{base}/{name}"), true).await
    }

    async fn with_database(dir: tempfile::TempDir, db_url: String, idle: bool) -> Self {
        let mail = MailServers::start_with(idle).await;
        Self {
            mail,
            dir,
            db_url,
            base: String::new(),
            env: Vec::new(),
            child: None,
            runs: 0,
        }
    }

    /// Set an environment variable for the next start.
    pub fn env(&mut self, key: &str, value: &str) -> &mut Self {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
        self
    }

    fn log_path(&self, n: usize) -> std::path::PathBuf {
        self.dir.path().join(format!("serve-{n}.log"))
    }

    /// The logs of every run so far.
    pub fn logs(&self) -> String {
        (1..=self.runs)
            .map(|n| std::fs::read_to_string(self.log_path(n)).unwrap_or_default())
            .collect()
    }

    /// Start `sportello serve` and wait for `/healthz`.
    pub async fn start(&mut self) {
        self.runs += 1;
        let log = std::fs::File::create(self.log_path(self.runs)).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_sportello"))
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
            .arg("serve")
            .env("SPORTELLO_DATABASE__URL", &self.db_url)
            .env("SPORTELLO_CONSOLE__BIND", "127.0.0.1:0")
            .env("SPORTELLO_ADMIN_PASSWORD", "test-admin-password")
            .env("SPORTELLO_TELEGRAM__ENABLED", "false")
            .env("SPORTELLO_EMAIL__ENABLED", "true")
            .env("SPORTELLO_EMAIL__IMAP_HOST", "127.0.0.1")
            .env(
                "SPORTELLO_EMAIL__IMAP_PORT",
                self.mail.imaps_port.to_string(),
            )
            .env("SPORTELLO_EMAIL__IMAP_TLS", "tls")
            .env("SPORTELLO_EMAIL__SMTP_HOST", "127.0.0.1")
            .env(
                "SPORTELLO_EMAIL__SMTP_PORT",
                self.mail.smtp_port.to_string(),
            )
            .env("SPORTELLO_EMAIL__SMTP_TLS", "starttls")
            .env("SPORTELLO_EMAIL__CA_FILE", self.mail.ca_file())
            .env("SPORTELLO_EMAIL__USERNAME", OFFICE)
            .env("SPORTELLO_EMAIL__PASSWORD", PASSWORD)
            .env("SPORTELLO_EMAIL__ADDRESS", OFFICE)
            .env("SPORTELLO_EMAIL__FROM_NAME", "URP Comune di Prova")
            .env(
                "SPORTELLO_EMAIL__SIGNATURE",
                "Ufficio Relazioni con il Pubblico",
            )
            .env("SPORTELLO_EMAIL__TIMEOUT_SECS", "10")
            .env("SPORTELLO_DISPATCHER__BASE_DELAY_MS", "200")
            .env("SPORTELLO_DISPATCHER__POLL_MS", "100")
            .env("RUST_LOG", "info")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        self.base.clear();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let log = std::fs::read_to_string(self.log_path(self.runs)).unwrap_or_default();
            if let Some(address) = served_address(&log) {
                self.base = format!("http://{address}");
                if reqwest::get(format!("{}/healthz", self.base)).await.is_ok() {
                    return;
                }
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("serve exited early with {status}: {}", self.logs());
            }
            assert!(Instant::now() < deadline, "serve did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Wait for the process to end by itself (a failpoint); its exit status.
    pub async fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not stop: {}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM and wait.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        child.wait().ok().and_then(|s| s.code())
    }

    /// `/healthz` as JSON.
    pub async fn health(&self) -> serde_json::Value {
        reqwest::get(format!("{}/healthz", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A store on the same database.
    pub async fn store(&self) -> Store {
        Store::connect(&self.db_url, 2, Duration::from_secs(10))
            .await
            .unwrap()
    }

    /// One number from the database.
    pub async fn count(&self, sql: &str) -> i64 {
        let store = self.store().await;
        let n = sqlx::query_scalar(sql)
            .fetch_one(store.pool())
            .await
            .unwrap();
        store.close().await;
        n
    }

    /// Wait until `sql` counts at least `n`.
    pub async fn wait_count(&self, sql: &str, n: i64) -> i64 {
        let deadline = Instant::now() + PATIENCE * 2;
        loop {
            let got = self.count(sql).await;
            if got >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{sql}: {got}, expected {n}\nlogs:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Office {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A raw email with CRLF line ends.
pub fn email(from: &str, subject: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    let id = format!(
        "<{}.{}@cittadini.test>",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let mut headers = format!("From: {from}\nTo: {OFFICE}\nSubject: {subject}\nMessage-ID: {id}\n");
    if !extra_headers.is_empty() {
        headers.push_str(extra_headers.trim_end());
        headers.push('\n');
    }
    if !extra_headers.to_ascii_lowercase().contains("content-type") {
        headers.push_str("MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n");
    }
    crlf(&format!("{headers}\n{body}"))
}

static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// `\n` as `\r\n`.
pub fn crlf(text: &str) -> Vec<u8> {
    text.replace("\r\n", "\n")
        .replace('\n', "\r\n")
        .into_bytes()
}

/// A parsed message's header, raw.
pub fn header(raw: &[u8], name: &str) -> Option<String> {
    let msg = mail_parser::MessageParser::default().parse(raw)?;
    msg.headers_raw()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
}

/// The Message-ID of a raw message, without angle brackets.
pub fn message_id(raw: &[u8]) -> String {
    header(raw, "Message-ID")
        .unwrap()
        .trim_matches(['<', '>'])
        .to_string()
}

/// The plain text of a raw message.
pub fn body(raw: &[u8]) -> String {
    let msg = mail_parser::MessageParser::default().parse(raw).unwrap();
    msg.body_text(0).unwrap_or_default().to_string()
}

/// The decoded subject of a raw message.
pub fn subject(raw: &[u8]) -> String {
    let msg = mail_parser::MessageParser::default().parse(raw).unwrap();
    msg.subject().unwrap_or_default().to_string()
}

/// Intake over the office's database, as the operators' console uses it.
pub async fn operator_desk(office: &Office) -> std::sync::Arc<sportello_core::intake::Intake> {
    use sportello_core::config::Texts;
    use sportello_core::health::Health;
    use sportello_core::intake::Intake;
    use sportello_core::policy::Policy;
    use sportello_faq::{Matcher, MatcherParams, Synonyms};
    let store = office.store().await;
    let matcher = Matcher::new(&[], &Synonyms::default(), MatcherParams::default());
    let policy = std::sync::Arc::new(Policy::new(matcher, &[], Texts::default()));
    let health = std::sync::Arc::new(Health::new(store.clock()));
    std::sync::Arc::new(Intake::new(store, policy, health))
}
