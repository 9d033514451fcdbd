//! The dispatcher: delivers the outbox through the channels.
//!
//! A worker loop, like a job queue's: claim due rows (atomically, so several processes can
//! share one PostgreSQL), send each through its channel, and record the outcome. A platform's
//! "retry after N" is honoured exactly; other temporary failures back off exponentially with
//! jitter; after `max_attempts` a row is `failed` with the platform's reason, which operators
//! and `/healthz` see. Rows of one conversation go out in order.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::channel::{Channel, SendError};
use crate::config::DispatcherConfig;
use crate::error::Result;
use crate::health::{Health, Metric};
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
            store,
            channels: channels
                .into_iter()
                .map(|c| (c.name().to_string(), c))
                .collect(),
            config,
            ready,
            health,
        }
    }

    /// Claim and deliver one batch.
    pub async fn round(&self) -> Result<Round> {
        let names: Vec<String> = self.channels.keys().cloned().collect();
        let rows = self
            .store
            .claim_outbox(&names, self.config.batch, self.config.lease_secs * 1000)
            .await?;
        if rows.is_empty() {
            return Ok(Round::EmptyQueue);
        }
        let n = rows.len();
        // Rows are of distinct conversations (the claim takes one per conversation), so they
        // can be sent concurrently without reordering any citizen's messages.
        let mut sends = JoinSet::new();
        for row in rows {
            let channel = self.channels[&row.channel].clone();
            sends.spawn(async move {
                let result = channel.send(&row).await;
                (row, result)
            });
        }
        // Deliveries that finished together are recorded in one transaction: each record is
        // a write, and under load they would otherwise queue one by one for the database.
        // Nothing waits for slower sends, so a crash can repeat at most the sends in flight.
        while let Some(first) = sends.join_next().await {
            let mut done = vec![first];
            while let Some(more) = sends.try_join_next() {
                done.push(more);
            }
            let mut delivered = Vec::new();
            for (row, result) in done.into_iter().flatten() {
                match result {
                    Ok(d) => {
                        self.health.sent_ok(&row.channel);
                        self.health.count(Metric::MessagesOut, &row.channel);
                        delivered.push((row.id, d.platform_ref));
                    }
                    Err(e) => self.record(&row, e).await?,
                }
            }
            self.store.outbox_sent_many(&delivered).await?;
        }
        Ok(Round::Worked(n))
    }

    /// Record a failed delivery: retry it later or mark it failed.
    async fn record(&self, row: &crate::model::Outgoing, error: SendError) -> Result<()> {
        let now = self.store.now_ms();
        match error {
            SendError::RetryAfter(wait) => {
                tracing::warn!(outbox = row.id, channel = %row.channel, wait_ms = wait.as_millis() as u64, "rate limited");
                self.health.send_error(
                    &row.channel,
                    &format!("rate limited for {}s", wait.as_secs_f64()),
                );
                self.store
                    .outbox_retry(
                        row.id,
                        now + wait.as_millis() as i64,
                        &format!("rate limited: retry after {}s", wait.as_secs_f64()),
                    )
                    .await
            }
            SendError::Transient(reason) if row.attempt < self.config.max_attempts => {
                let delay = backoff(
                    row.attempt,
                    Duration::from_millis(self.config.base_delay_ms),
                    Duration::from_millis(self.config.max_delay_ms),
                );
                tracing::warn!(outbox = row.id, channel = %row.channel, attempt = row.attempt, delay_ms = delay.as_millis() as u64, %reason, "delivery failed, will retry");
                self.health.send_error(&row.channel, &reason);
                self.store
                    .outbox_retry(row.id, now + delay.as_millis() as i64, &reason)
                    .await
            }
            SendError::Transient(reason) => {
                tracing::error!(outbox = row.id, channel = %row.channel, attempts = row.attempt, %reason, "delivery failed for good");
                self.health.send_error(&row.channel, &reason);
                self.health.count(Metric::OutboxFailed, &row.channel);
                self.store.outbox_failed(row.id, &reason, false).await
            }
            SendError::Permanent {
                reason,
                unreachable,
            } => {
                tracing::error!(outbox = row.id, channel = %row.channel, %reason, unreachable, "delivery refused");
                self.health.count(Metric::OutboxFailed, &row.channel);
                self.store.outbox_failed(row.id, &reason, unreachable).await
            }
        }
    }

    /// Work until `shutdown`: deliver what is due, then sleep until the next row is due, new
    /// rows arrive, or the poll interval passes. In-flight sends finish before it returns.
    pub async fn run(self, shutdown: CancellationToken) {
        let poll = Duration::from_millis(self.config.poll_ms.max(1));
        while !shutdown.is_cancelled() {
            let notified = self.ready.notified();
            match self.round().await {
                Ok(Round::Worked(_)) => continue,
                Ok(Round::EmptyQueue) => {}
                Err(e) => tracing::error!(error = %e, "dispatcher round failed"),
            }
            let wait = match self.store.outbox_next_due().await {
                Ok(Some(due)) => {
                    Duration::from_millis((due - self.store.now_ms()).max(0) as u64).min(poll)
                }
                _ => poll,
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = notified => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}
