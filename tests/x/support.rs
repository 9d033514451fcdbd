//! A running `sportello serve` with its X channel pointed at the X API double, and helpers
//! for what a test checks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sportello_core::channel::ChannelCaps;
use sportello_core::config::Texts;
use sportello_core::health::Health;
use sportello_core::intake::Intake;
use sportello_core::policy::Policy;
use sportello_doubles::x::{ACCOUNT_ID, Endpoint, Posted, XDouble};
use sportello_faq::{Matcher, MatcherParams, Synonyms};
use sportello_testkit::served::Runs;

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

/// One office: the double, a database, and the serve process when running (its runs, logs,
/// health and store come from [`Runs`] through `Deref`).
pub struct Office {
    pub double: XDouble,
    /// The refresh token the office was first given (in the environment).
    pub first_refresh: String,
    runs: Runs,
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
    /// A new office on SQLite, not started yet.
    pub async fn new() -> Self {
        let double = XDouble::start(CLIENT_ID, Some(CLIENT_SECRET)).await;
        double.add_user(ANNA, "anna_r", "Anna Rossi", true);
        double.add_user(BRUNO, "bruno_b", "Bruno Bianchi", true);
        double.add_user(CARLA, "carla_v", "Carla Verdi", false);
        let first_refresh = double.issue_refresh_token();
        Self {
            double,
            first_refresh,
            runs: Runs::sqlite(),
        }
    }

    /// Start `sportello serve` with X on the double and wait for `/healthz`.
    pub async fn start_only(&mut self) {
        let settings = [
            ("SPORTELLO_X__ENABLED", "true".to_string()),
            ("SPORTELLO_X__API_URL", self.double.api_url()),
            ("SPORTELLO_X__USER_ID", ACCOUNT_ID.to_string()),
            ("SPORTELLO_X__CLIENT_ID", CLIENT_ID.to_string()),
            ("SPORTELLO_X__CLIENT_SECRET", CLIENT_SECRET.to_string()),
            ("SPORTELLO_X__REFRESH_TOKEN", self.first_refresh.clone()),
            ("SPORTELLO_X__POLL_SECS", "1".to_string()),
            ("SPORTELLO_X__TIMEOUT_SECS", "3".to_string()),
        ];
        self.runs
            .start(env!("CARGO_BIN_EXE_sportello"), &settings)
            .await;
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

    /// Wait for the process to end by itself (a failpoint); its status.
    pub async fn wait_exit(&mut self) -> std::process::ExitStatus {
        self.runs.wait_exit(PATIENCE).await
    }

    /// SIGTERM and wait.
    pub fn stop(&mut self) {
        self.runs.stop();
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
