//! A running `sportello serve` with its X channel pointed at the X API double, and helpers
//! for what a test checks.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sportello_core::channel::ChannelCaps;
use sportello_core::config::Texts;
use sportello_core::health::Health;
use sportello_core::intake::Intake;
use sportello_core::policy::Policy;
use sportello_core::store::Store;
use sportello_doubles::x::{ACCOUNT_ID, Endpoint, Posted, XDouble};
use sportello_faq::{Matcher, MatcherParams, Synonyms};
use sportello_testkit::served::served_address;

/// The X app the double and the office share.
pub const CLIENT_ID: &str = "sportello-test-app";
/// Its secret, which must never reach a log.
pub const CLIENT_SECRET: &str = "client-secret-NEVER-LOGGED";

/// Citizens: Anna and Bruno accept DMs, Carla does not.
pub const ANNA: &str = "2001";
pub const BRUNO: &str = "2002";
pub const CARLA: &str = "2003";

/// How long a test waits for something that should happen promptly.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// One office: the double, a database, and the serve process when running.
pub struct Office {
    pub double: XDouble,
    pub dir: tempfile::TempDir,
    pub db_url: String,
    /// The console's address of the current run (it binds port 0, so each run has its own).
    pub base: String,
    /// The refresh token the office was first given (in the environment).
    pub first_refresh: String,
    env: Vec<(String, String)>,
    child: Option<Child>,
    runs: usize,
}

impl Office {
    /// A new office on SQLite, not started yet.
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db_url = format!("sqlite://{}", dir.path().join("sportello.db").display());
        Self::with_database(dir, db_url).await
    }

    /// A new office on the database at `db_url`.
    pub async fn with_database(dir: tempfile::TempDir, db_url: String) -> Self {
        let double = XDouble::start(CLIENT_ID, Some(CLIENT_SECRET)).await;
        double.add_user(ANNA, "anna_r", "Anna Rossi", true);
        double.add_user(BRUNO, "bruno_b", "Bruno Bianchi", true);
        double.add_user(CARLA, "carla_v", "Carla Verdi", false);
        let first_refresh = double.issue_refresh_token();
        Self {
            double,
            dir,
            db_url,
            base: String::new(),
            first_refresh,
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

    /// The log file of run `n` (from 1).
    pub fn log_path(&self, n: usize) -> PathBuf {
        self.dir.path().join(format!("serve-{n}.log"))
    }

    /// The logs of every run so far.
    pub fn logs(&self) -> String {
        (1..=self.runs)
            .map(|n| std::fs::read_to_string(self.log_path(n)).unwrap_or_default())
            .collect()
    }

    /// Start `sportello serve` and wait for `/healthz`.
    pub async fn start_only(&mut self) {
        self.runs += 1;
        let log = std::fs::File::create(self.log_path(self.runs)).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_sportello"))
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
            .arg("serve")
            .env("SPORTELLO_DATABASE__URL", &self.db_url)
            .env("SPORTELLO_CONSOLE__BIND", "127.0.0.1:0")
            .env("SPORTELLO_ADMIN_PASSWORD", "test-admin-password")
            .env("SPORTELLO_X__ENABLED", "true")
            .env("SPORTELLO_X__API_URL", self.double.api_url())
            .env("SPORTELLO_X__USER_ID", ACCOUNT_ID)
            .env("SPORTELLO_X__CLIENT_ID", CLIENT_ID)
            .env("SPORTELLO_X__CLIENT_SECRET", CLIENT_SECRET)
            .env("SPORTELLO_X__REFRESH_TOKEN", &self.first_refresh)
            .env("SPORTELLO_X__POLL_SECS", "1")
            .env("SPORTELLO_X__TIMEOUT_SECS", "3")
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
        let deadline = Instant::now() + Duration::from_secs(90);
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

    /// Start, and wait until the poller has taken its start point (a first start takes only
    /// mentions and DMs that arrive after it).
    pub async fn start(&mut self) {
        self.start_only().await;
        let store = self.store().await;
        let logs = || self.logs();
        eventually(
            "the X poller takes its start point",
            || async {
                store
                    .cursor("x")
                    .await
                    .unwrap()
                    .is_some_and(|c| c.contains("m:") && c.contains("d:"))
            },
            logs,
        )
        .await;
    }

    /// Wait for the process to end by itself (a failpoint); whether it failed.
    pub async fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                return status;
            }
            assert!(Instant::now() < deadline, "serve did not stop");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM and wait.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
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

    /// The store, for checks.
    pub async fn store(&self) -> Store {
        Store::connect(&self.db_url, 2, Duration::from_secs(10))
            .await
            .unwrap()
    }

    /// Intake over the same database, as an operator's console would use it.
    pub async fn operator_desk(&self) -> Arc<Intake> {
        let store = self.store().await;
        let matcher = Matcher::new(&[], &Synonyms::default(), MatcherParams::default());
        let policy = Arc::new(Policy::new(matcher, &[], Texts::default()));
        let health = Arc::new(Health::new(store.clock()));
        let intake = Arc::new(Intake::new(store, policy, health));
        intake.register("x", ChannelCaps::default());
        intake
    }

    /// Wait for at least `n` posts by the office.
    pub async fn posts(&self, n: usize) -> Vec<Posted> {
        let posted = self.double.wait_posted(n, PATIENCE).await;
        assert!(
            posted.len() >= n,
            "expected {n} posts, got {posted:#?}\nlogs:\n{}",
            self.logs()
        );
        posted
    }

    /// The requests of one endpoint so far.
    pub fn requests(&self, endpoint: Endpoint) -> Vec<sportello_doubles::x::Request> {
        self.double
            .requests()
            .into_iter()
            .filter(|r| r.endpoint == endpoint)
            .collect()
    }

    /// Wait until the office has nothing left to do: two more polls of mentions have
    /// completed (so anything they found is stored) and no outbox row is waiting. What the
    /// double holds then is final.
    pub async fn settled(&self) {
        let polls = self.requests(Endpoint::Mentions).len();
        eventually(
            "two more polls and an empty outbox",
            || async {
                self.requests(Endpoint::Mentions).len() >= polls + 2
                    && self
                        .count("select count(*) from outbox where state in ('pending', 'sending')")
                        .await
                        == 0
            },
            || self.logs(),
        )
        .await;
    }

    /// No request broke the contract.
    pub fn assert_no_violations(&self) {
        let v = self.double.violations();
        assert!(v.is_empty(), "requests broke the X API contract: {v:#?}");
    }

    /// Count rows of a query with one text parameter.
    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(self.store().await.pool())
            .await
            .unwrap()
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

/// Wait until `check` holds, polling; on timeout fail with `what` and the logs.
pub async fn eventually<F, Fut>(what: &str, mut check: F, logs: impl Fn() -> String)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + PATIENCE;
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for: {what}\nlogs:\n{}",
            logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
