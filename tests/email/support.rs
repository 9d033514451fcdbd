//! A running `sportello serve` with its email channel on the private mail servers, and the
//! helpers the tests share.

use std::time::{Duration, Instant};

use sportello_testkit::TestDb;
use sportello_testkit::served::Runs;

use crate::servers::{MailServers, OFFICE, PASSWORD};

/// How long a test waits for something that should happen promptly.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// One office: the mail servers, a database and the serve process when running (its runs,
/// logs, health and store come from [`Runs`] through `Deref`).
pub struct Office {
    pub mail: MailServers,
    runs: Runs,
    _db: Option<TestDb>,
}

impl std::ops::Deref for Office {
    type Target = Runs;
    fn deref(&self) -> &Runs {
        &self.runs
    }
}

impl std::ops::DerefMut for Office {
    fn deref_mut(&mut self) -> &mut Runs {
        &mut self.runs
    }
}

impl Office {
    /// Mail servers up, Sportello not started yet, on a SQLite file.
    pub async fn new() -> Self {
        Self::with(Runs::sqlite(), None, true).await
    }

    /// On a SQLite file, with a Dovecot that does not offer IDLE.
    pub async fn without_idle() -> Self {
        Self::with(Runs::sqlite(), None, false).await
    }

    /// The same on a fresh PostgreSQL database (`SPORTELLO_TEST_POSTGRES`).
    pub async fn postgres() -> Self {
        let db = TestDb::postgres().await;
        let runs = Runs::on(tempfile::tempdir().unwrap(), db.url.clone());
        Self::with(runs, Some(db), true).await
    }

    async fn with(runs: Runs, db: Option<TestDb>, idle: bool) -> Self {
        Self {
            mail: MailServers::start_with(idle).await,
            runs,
            _db: db,
        }
    }

    /// Start `sportello serve` with email on the private servers and wait for `/healthz`.
    pub async fn start(&mut self) {
        let m = &self.mail;
        let settings = [
            ("SPORTELLO_TELEGRAM__ENABLED", "false".to_string()),
            ("SPORTELLO_EMAIL__ENABLED", "true".to_string()),
            ("SPORTELLO_EMAIL__IMAP_HOST", "127.0.0.1".to_string()),
            ("SPORTELLO_EMAIL__IMAP_PORT", m.imaps_port.to_string()),
            ("SPORTELLO_EMAIL__IMAP_TLS", "tls".to_string()),
            ("SPORTELLO_EMAIL__SMTP_HOST", "127.0.0.1".to_string()),
            ("SPORTELLO_EMAIL__SMTP_PORT", m.smtp_port.to_string()),
            ("SPORTELLO_EMAIL__SMTP_TLS", "starttls".to_string()),
            (
                "SPORTELLO_EMAIL__CA_FILE",
                m.ca_file().display().to_string(),
            ),
            ("SPORTELLO_EMAIL__USERNAME", OFFICE.to_string()),
            ("SPORTELLO_EMAIL__PASSWORD", PASSWORD.to_string()),
            ("SPORTELLO_EMAIL__ADDRESS", OFFICE.to_string()),
            (
                "SPORTELLO_EMAIL__FROM_NAME",
                "URP Comune di Prova".to_string(),
            ),
            (
                "SPORTELLO_EMAIL__SIGNATURE",
                "Ufficio Relazioni con il Pubblico".to_string(),
            ),
            ("SPORTELLO_EMAIL__TIMEOUT_SECS", "10".to_string()),
        ];
        self.runs
            .start(env!("CARGO_BIN_EXE_sportello"), &settings)
            .await;
    }

    /// Wait for the process to end by itself (a failpoint); its exit status.
    pub async fn wait_exit(&mut self) -> std::process::ExitStatus {
        self.runs.wait_exit(PATIENCE).await
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
