//! The dispatcher: delivers the outbox through the channels.
//!
//! A worker loop, like a job queue's: claim due rows (atomically, so several processes can
//! share one PostgreSQL), send each through its channel, and record the outcome. A platform's
//! "retry after N" is honoured exactly; other temporary failures back off exponentially with
//! jitter; after `max_attempts` a row is `failed` with the platform's reason, which operators
//! and `/healthz` see. Rows of one conversation go out in order.
//!
//! Each claim leases its rows under a new lease number (a fencing token). Every send runs in
//! its own task, bounded to half the lease, and records its own outcome the moment it ends,
//! under its lease number: a slow or hung send holds up nothing but itself, a kill -9 leaves
//! unrecorded only the sends actually in flight, and a worker that outlived its lease (a
//! stalled process) can neither send (a send is not started late) nor overwrite the outcome
//! of the worker that took the row back. The claim loop keeps going while sends are in flight,
//! up to `dispatcher.batch` of them.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::FutureExt;
use rand::Rng;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::channel::{Channel, Progress, SendError};
use crate::config::DispatcherConfig;
use crate::error::Result;
use crate::health::{Health, Metric};
use crate::model::Outgoing;
use crate::store::Store;

/// What one round of the worker did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// Some rows were claimed and handled.
    Worked(usize),
    /// Nothing was due.
    EmptyQueue,
}

/// Delivers outbox rows through channels.
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    /// Rows this process is sending or recording: never claimed again by it meanwhile.
    busy: std::sync::Mutex<std::collections::HashSet<i64>>,
    store: Store,
    channels: HashMap<String, Arc<dyn Channel>>,
    config: DispatcherConfig,
    ready: Arc<Notify>,
    health: Arc<Health>,
}

/// The delay before retry number `attempt` (1 for the first retry): exponential from `base`,
/// capped at `max`, with "equal jitter" (between half and all of it) so that many failed
/// messages do not retry in lockstep.
pub fn backoff(attempt: i64, base: Duration, max: Duration) -> Duration {
    let exp = attempt.clamp(1, 32) as u32 - 1;
    let full = base.saturating_mul(2u32.saturating_pow(exp)).min(max);
    let half = full / 2;
    half + full
        .saturating_sub(half)
        .mul_f64(rand::thread_rng().r#gen::<f64>())
}

/// What a finished send asks of the store.
enum Outcome {
    Sent(Option<String>),
    Retry { due_at: i64, reason: String },
    Failed { reason: String, unreachable: bool },
}

impl Dispatcher {
    /// A dispatcher for these channels; `ready` wakes it when intake writes to the outbox.
    pub fn new(
        store: Store,
        channels: Vec<Arc<dyn Channel>>,
        config: DispatcherConfig,
        ready: Arc<Notify>,
        health: Arc<Health>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                busy: std::sync::Mutex::new(std::collections::HashSet::new()),
                store,
                channels: channels
                    .into_iter()
                    .map(|c| (c.name().to_string(), c))
                    .collect(),
                config,
                ready,
                health,
            }),
        }
    }

    /// Claim one batch and deliver it, returning when every send of the batch has ended and
    /// been recorded (the worker loop does not wait like this; tests step with it).
    pub async fn round(&self) -> Result<Round> {
        let rows = self.inner.claim(self.inner.config.batch).await?;
        if rows.is_empty() {
            return Ok(Round::EmptyQueue);
        }
        let n = rows.len();
        let claimed_at = Instant::now();
        let mut sends = JoinSet::new();
        for row in rows {
            let inner = self.inner.clone();
            sends.spawn(async move { inner.deliver(row, claimed_at).await });
        }
        while let Some(done) = sends.join_next().await {
            if let Err(e) = done {
                tracing::error!(error = %e, "a delivery task ended abnormally");
            }
        }
        Ok(Round::Worked(n))
    }

    /// Work until `shutdown`: keep up to `dispatcher.batch` sends in flight, claiming more as
    /// rows come due, new rows arrive or sends end. In-flight sends (each bounded to half the
    /// lease) finish and are recorded before it returns.
    pub async fn run(self, shutdown: CancellationToken) {
        let inner = self.inner;
        let capacity = inner.config.batch.max(1) as usize;
        let poll = Duration::from_millis(inner.config.poll_ms.max(1));
        let mut sends: JoinSet<()> = JoinSet::new();
        while !shutdown.is_cancelled() {
            let notified = inner.ready.notified();
            while let Some(done) = sends.try_join_next() {
                if let Err(e) = done {
                    tracing::error!(error = %e, "a delivery task ended abnormally");
                }
            }
            let free = capacity - sends.len();
            let mut wait = poll;
            if free > 0 {
                match inner.claim(free as i64).await {
                    Ok(rows) => {
                        let full = rows.len() == free;
                        let claimed_at = Instant::now();
                        for row in rows {
                            let task = inner.clone();
                            sends.spawn(async move { task.deliver(row, claimed_at).await });
                        }
                        if full {
                            // More may be due: claim again as soon as a slot is free.
                            wait = Duration::ZERO;
                        } else if let Ok(Some(due)) = inner.store.outbox_next_due().await {
                            wait =
                                Duration::from_millis((due - inner.store.now_ms()).max(0) as u64)
                                    .min(poll);
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "dispatcher claim failed"),
                }
            }
            if wait.is_zero() && sends.len() < capacity {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = notified => {}
                _ = tokio::time::sleep(wait) => {}
                Some(done) = sends.join_next(), if !sends.is_empty() => {
                    if let Err(e) = done {
                        tracing::error!(error = %e, "a delivery task ended abnormally");
                    }
                }
            }
        }
        while let Some(done) = sends.join_next().await {
            if let Err(e) = done {
                tracing::error!(error = %e, "a delivery task ended abnormally");
            }
        }
    }
}

impl Inner {
    fn lease(&self) -> Duration {
        Duration::from_millis((self.config.lease_secs.max(1) * 1000) as u64)
    }

    /// The longest a send may take: half the lease, so that its outcome is recorded while the
    /// lease is still its own.
    fn send_bound(&self) -> Duration {
        self.lease() / 2
    }

    async fn claim(&self, batch: i64) -> Result<Vec<Outgoing>> {
        let names: Vec<String> = self.channels.keys().cloned().collect();
        let busy: Vec<i64> = self.busy().iter().copied().collect();
        let rows = self
            .store
            .claim_outbox_except(&names, batch, self.lease().as_millis() as i64, &busy)
            .await?;
        self.busy().extend(rows.iter().map(|r| r.id));
        Ok(rows)
    }

    fn busy(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<i64>> {
        self.busy.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Send one claimed row and record its outcome; then it may be claimed again.
    async fn deliver(&self, row: Outgoing, claimed_at: Instant) {
        let id = row.id;
        self.deliver_once(row, claimed_at).await;
        self.busy().remove(&id);
    }

    async fn deliver_once(&self, row: Outgoing, claimed_at: Instant) {
        // A worker that stalled between the claim and the send (a stopped process, a long
        // pause) may have outlived its lease: another worker may be sending the row already.
        if claimed_at.elapsed() > self.lease() / 4 {
            tracing::warn!(outbox = row.id, channel = %row.channel, "lease nearly spent before the send started: released");
            let now = self.store.now_ms();
            let _ = self
                .store
                .outbox_retry(
                    row.id,
                    row.lease,
                    now,
                    "not sent: its lease ran out before the send",
                )
                .await;
            return;
        }
        let Some(channel) = self.channels.get(&row.channel).cloned() else {
            return;
        };
        let bound = self.send_bound();
        let progress = LeaseProgress {
            store: self.store.clone(),
            id: row.id,
            lease: row.lease,
            deadline: claimed_at + bound,
        };
        let send = AssertUnwindSafe(channel.send_parts(&row, &progress)).catch_unwind();
        let result = match tokio::time::timeout(bound, send).await {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(outbox = row.id, channel = %row.channel, panic = %what, "the channel panicked while sending");
                Err(SendError::Transient(format!(
                    "the {} channel failed unexpectedly",
                    row.channel
                )))
            }
            Err(_) => Err(SendError::Transient(format!(
                "no answer from the platform within {} s",
                bound.as_secs_f64()
            ))),
        };
        let outcome = self.outcome(&row, result);
        self.record(&row, outcome, claimed_at + self.lease()).await;
    }

    /// Decide what a send's result means for the row, and report it in health and metrics.
    fn outcome(
        &self,
        row: &Outgoing,
        result: std::result::Result<crate::channel::Delivered, SendError>,
    ) -> Outcome {
        let now = self.store.now_ms();
        match result {
            Ok(d) => {
                self.health.sent_ok(&row.channel);
                self.health.count(Metric::MessagesOut, &row.channel);
                Outcome::Sent(d.platform_ref)
            }
            Err(SendError::RetryAfter(wait)) => {
                tracing::warn!(outbox = row.id, channel = %row.channel, wait_ms = wait.as_millis() as u64, "rate limited");
                self.health.send_error(
                    &row.channel,
                    &format!("rate limited for {}s", wait.as_secs_f64()),
                );
                Outcome::Retry {
                    due_at: now + wait.as_millis() as i64,
                    reason: format!("rate limited: retry after {}s", wait.as_secs_f64()),
                }
            }
            Err(SendError::Transient(reason)) if row.attempt < self.config.max_attempts => {
                let delay = backoff(
                    row.attempt,
                    Duration::from_millis(self.config.base_delay_ms),
                    Duration::from_millis(self.config.max_delay_ms),
                );
                tracing::warn!(outbox = row.id, channel = %row.channel, attempt = row.attempt, delay_ms = delay.as_millis() as u64, %reason, "delivery failed, will retry");
                self.health.send_error(&row.channel, &reason);
                Outcome::Retry {
                    due_at: now + delay.as_millis() as i64,
                    reason,
                }
            }
            Err(SendError::Transient(reason)) => {
                tracing::error!(outbox = row.id, channel = %row.channel, attempts = row.attempt, %reason, "delivery failed for good");
                self.health.send_error(&row.channel, &reason);
                self.health.count(Metric::OutboxFailed, &row.channel);
                Outcome::Failed {
                    reason,
                    unreachable: false,
                }
            }
            Err(SendError::Permanent {
                reason,
                unreachable,
            }) => {
                tracing::error!(outbox = row.id, channel = %row.channel, %reason, unreachable, "delivery refused");
                self.health.count(Metric::OutboxFailed, &row.channel);
                Outcome::Failed {
                    reason,
                    unreachable,
                }
            }
        }
    }

    /// Record an outcome under the row's lease. A database error is retried until the lease
    /// ends (after that the row is another worker's); a lease already lost is only logged.
    async fn record(&self, row: &Outgoing, outcome: Outcome, lease_end: Instant) {
        let mut pause = Duration::from_millis(50);
        loop {
            let recorded = match &outcome {
                Outcome::Sent(platform_ref) => {
                    self.store
                        .outbox_sent(row.id, row.lease, platform_ref.as_deref())
                        .await
                }
                Outcome::Retry { due_at, reason } => {
                    self.store
                        .outbox_retry(row.id, row.lease, *due_at, reason)
                        .await
                }
                Outcome::Failed {
                    reason,
                    unreachable,
                } => {
                    self.store
                        .outbox_failed(row.id, Some(row.lease), reason, *unreachable)
                        .await
                }
            };
            match recorded {
                Ok(true) => return,
                Ok(false) => {
                    tracing::warn!(outbox = row.id, channel = %row.channel, lease = row.lease, "lease lost before the outcome was recorded: another worker holds the row");
                    return;
                }
                Err(e) if Instant::now() + pause < lease_end => {
                    tracing::warn!(outbox = row.id, channel = %row.channel, error = %e, "recording a delivery failed, will retry");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                Err(e) => {
                    tracing::error!(outbox = row.id, channel = %row.channel, error = %e, "recording a delivery failed until its lease ended");
                    return;
                }
            }
        }
    }
}

/// Progress of a split message, kept with its outbox row under the send's lease.
struct LeaseProgress {
    store: Store,
    id: i64,
    lease: i64,
    deadline: Instant,
}

#[async_trait]
impl Progress for LeaseProgress {
    async fn parts_delivered(&self, parts: i64) -> bool {
        if Instant::now() >= self.deadline {
            return false;
        }
        match self
            .store
            .outbox_parts_sent(self.id, self.lease, parts)
            .await
        {
            Ok(held) => held,
            Err(e) => {
                // Not fatal: the parts were delivered; a retry after a crash would repeat them.
                tracing::warn!(outbox = self.id, error = %e, "could not record the parts delivered");
                true
            }
        }
    }
}
