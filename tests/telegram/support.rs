//! A running `sportello serve` with its Telegram channel pointed at the Bot API double, and
//! typed helpers for what a test checks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sportello_core::channel::ChannelCaps;
use sportello_core::config::Texts;
use sportello_core::health::Health;
use sportello_core::intake::Intake;
use sportello_core::policy::Policy;
use sportello_doubles::telegram::{SentMessage, TelegramDouble};
use sportello_faq::{Matcher, MatcherParams, Synonyms};
use sportello_testkit::served::Runs;

/// The bot token the double and the bot share.
pub const TOKEN: &str = "123456:TEST-token-never-logged";

/// How long a test waits for something that should happen promptly.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// One office: the double, a database file, and the serve process when running (its
/// runs, logs, health and store come from [`Runs`] through `Deref`).
pub struct Office {
    pub double: TelegramDouble,
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
    /// A new office in polling mode, not started yet.
    pub async fn new() -> Self {
        Self {
            double: TelegramDouble::start(TOKEN).await,
            runs: Runs::sqlite(),
        }
    }

    /// Start `sportello serve` with Telegram on the double and wait for `/healthz`.
    pub async fn start(&mut self) {
        let api = self.double.api_url();
        self.runs
            .start(
                env!("CARGO_BIN_EXE_sportello"),
                &[
                    ("SPORTELLO_TELEGRAM__ENABLED", "true".into()),
                    ("SPORTELLO_TELEGRAM__TOKEN", TOKEN.into()),
                    ("SPORTELLO_TELEGRAM__API_URL", api),
                    ("SPORTELLO_TELEGRAM__POLL_TIMEOUT_SECS", "1".into()),
                ],
            )
            .await;
    }

    /// Wait for the process to end by itself (a failpoint); its exit status.
    pub async fn wait_exit(&mut self) -> std::process::ExitStatus {
        self.runs.wait_exit(PATIENCE).await
    }

    /// Intake over the same database, as an operator's console would use it.
    pub async fn operator_desk(&self) -> Arc<Intake> {
        let store = self.store().await;
        let matcher = Matcher::new(&[], &Synonyms::default(), MatcherParams::default());
        let policy = Arc::new(Policy::new(matcher, &[], Texts::default()));
        let health = Arc::new(Health::new(store.clock()));
        let intake = Arc::new(Intake::new(store, policy, health));
        intake.register("telegram", ChannelCaps::default());
        intake
    }

    /// Wait for at least `n` messages to `chat`.
    pub async fn replies(&self, chat: i64, n: usize) -> Vec<SentMessage> {
        let sent = self.double.wait_sent(chat, n, PATIENCE).await;
        assert!(
            sent.len() >= n,
            "expected {n} messages to chat {chat}, got {:#?}\nlogs:\n{}",
            sent,
            self.logs()
        );
        sent
    }

    /// Assert that `chat` got exactly `n` messages and that nothing more can reach it: wait
    /// until every update pushed to the double was confirmed by the bot (so intake has stored
    /// it with its replies, as the bot confirms only after the commit) and every outbox row
    /// to the chat is final (`sent` or `failed`, none `pending` or `sending`); then the double
    /// must have received one message per row sent, and `n` of them. No later duplicate can
    /// pass: nothing is left to send.
    pub async fn no_more_than(&self, chat: i64, n: usize) {
        let store = self.store().await;
        let thread = chat.to_string();
        let rows = || async {
            let rows: Vec<(String, i64)> = sqlx::query_as(
                "select state, count(*) from outbox where channel = 'telegram' and thread = $1 \
                 group by state order by state",
            )
            .bind(thread.as_str())
            .fetch_all(store.pool())
            .await
            .unwrap();
            rows
        };
        let deadline = Instant::now() + PATIENCE;
        let states = loop {
            let states = rows().await;
            let open = states
                .iter()
                .any(|(state, _)| state == "pending" || state == "sending");
            if self.double.pending_updates() == 0 && !open {
                break states;
            }
            assert!(
                Instant::now() < deadline,
                "chat {chat} never settled: {} updates unconfirmed, outbox {states:?}\nlogs:\n{}",
                self.double.pending_updates(),
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let count = |wanted: &str| {
            states
                .iter()
                .find(|(state, _)| state == wanted)
                .map_or(0, |(_, n)| *n as usize)
        };
        let sent = self.double.sent_to(chat);
        assert_eq!(
            sent.len(),
            count("sent"),
            "one message in the double per outbox row sent to chat {chat} (outbox {states:?}): {sent:#?}"
        );
        assert_eq!(sent.len(), n, "chat {chat}, outbox {states:?}: {sent:#?}");
        assert_eq!(count("failed"), 0, "chat {chat}: outbox {states:?}");
        store.close().await;
    }

    /// The contract was respected by every request.
    pub fn assert_no_violations(&self) {
        let v = self.double.violations();
        assert!(v.is_empty(), "requests broke the Bot API contract: {v:#?}");
    }
}

/// The callback data of a sent message's buttons, in order.
pub fn buttons(m: &SentMessage) -> Vec<(String, String)> {
    let Some(markup) = &m.reply_markup else {
        return Vec::new();
    };
    markup["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .map(|b| {
            (
                b["text"].as_str().unwrap_or_default().to_string(),
                b["callback_data"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Wait until `check` holds, polling.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + PATIENCE;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
