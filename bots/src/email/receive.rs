//! The receiving loop: log in, select the mailbox, catch up by UID from the stored cursor,
//! then wait with IDLE (re-issued every `email.idle_secs`) or poll every `email.poll_secs`;
//! reconnect with backoff after any failure.
//!
//! The cursor is `UIDVALIDITY:UID`, the highest UID committed, stored in the same
//! transaction as the message. A changed UIDVALIDITY restarts from UID 1; messages already
//! stored are recognised by their platform id and not stored again.

use std::sync::Arc;
use std::time::Duration;

use async_imap::Session;
use async_imap::extensions::idle::IdleResponse;
use futures::TryStreamExt;
use sportello_core::channel::ChannelError;
use sportello_core::health::Metric;
use sportello_core::intake::Intake;
use tokio_util::sync::CancellationToken;

use super::conn::{MailStream, imap_login};
use super::{Email, NAME, process};

const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Where reading resumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The mailbox's UIDVALIDITY.
    pub validity: u32,
    /// The highest UID committed.
    pub uid: u32,
}

impl Cursor {
    /// Parse a stored cursor (`validity:uid`).
    pub fn parse(s: &str) -> Option<Self> {
        let (v, u) = s.split_once(':')?;
        Some(Self {
            validity: v.parse().ok()?,
            uid: u.parse().ok()?,
        })
    }

    fn text(self) -> String {
        format!("{}:{}", self.validity, self.uid)
    }
}

/// Why a session ended.
enum End {
    Shutdown,
    Failed(String),
}

impl Email {
    /// Receive until `shutdown`.
    pub(super) async fn receive(
        &self,
        intake: Arc<Intake>,
        shutdown: CancellationToken,
    ) -> Result<(), ChannelError> {
        let health = intake.health().clone();
        let mut backoff = Duration::from_secs(1);
        loop {
            // One reader per mailbox across instances sharing a PostgreSQL database.
            let lock = loop {
                match intake.store().channel_lock(NAME).await {
                    Ok(Some(lock)) => break lock,
                    Ok(None) => tracing::debug!("another instance reads the mailbox; waiting"),
                    Err(e) => health.error(NAME, &format!("reader lock: {e}")),
                }
                if pause(&shutdown, Duration::from_secs(5)).await {
                    return Ok(());
                }
            };
            // A former holder whose lock died with its connection stops within the grace.
            if pause(&shutdown, lock.grace()).await {
                return Ok(());
            }
            // Reading stops the moment the lock is found lost.
            tokio::select! {
                () = self.read_holding(&intake, &shutdown, &mut backoff) => return Ok(()),
                () = lock.lost() => {}
            }
            tracing::warn!("email reader lock lost: stopped reading until it is taken again");
            drop(lock);
            if pause(&shutdown, Duration::from_secs(5)).await {
                return Ok(());
            }
        }
    }

    /// Read the mailbox, session after session, until shutdown.
    async fn read_holding(
        &self,
        intake: &Intake,
        shutdown: &CancellationToken,
        backoff: &mut Duration,
    ) {
        let health = intake.health();
        loop {
            match self.session(intake, shutdown, backoff).await {
                End::Shutdown => return,
                End::Failed(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "email: IMAP session ended");
                    health.error(NAME, &e);
                }
            }
            if pause(shutdown, *backoff).await {
                return;
            }
            *backoff = (*backoff * 2).min(MAX_BACKOFF);
        }
    }

    async fn session(
        &self,
        intake: &Intake,
        shutdown: &CancellationToken,
        backoff: &mut Duration,
    ) -> End {
        let config = &self.config;
        let timeout = Duration::from_secs(config.timeout_secs);
        let login = tokio::select! {
            _ = shutdown.cancelled() => return End::Shutdown,
            r = imap_login(config, &self.tls) => r,
        };
        let mut session = match login {
            Ok(s) => s,
            Err(e) => return End::Failed(e),
        };
        let capabilities = match step(timeout, "CAPABILITY", session.capabilities()).await {
            Ok(c) => c,
            Err(e) => return End::Failed(e),
        };
        let idle = capabilities.has_str("IDLE");
        let can_move = capabilities.has_str("MOVE");
        drop(capabilities);
        if !config.processed_mailbox.is_empty() {
            // Already there is the usual case; a real failure shows at the first move.
            let _ = step(timeout, "CREATE", session.create(&config.processed_mailbox)).await;
        }
        let mailbox = match step(timeout, "SELECT", session.select(&config.mailbox)).await {
            Ok(m) => m,
            Err(e) => return End::Failed(e),
        };
        let validity = mailbox.uid_validity.unwrap_or(0);
        let stored = match intake.store().cursor(NAME).await {
            Ok(c) => c.as_deref().and_then(Cursor::parse),
            Err(e) => return End::Failed(format!("cannot read the stored cursor: {e}")),
        };
        let mut cursor = match stored {
            Some(c) if c.validity == validity => c,
            Some(c) => {
                tracing::warn!(
                    old = c.validity,
                    new = validity,
                    "email: UIDVALIDITY changed; rescanning the mailbox (messages already stored are not stored again)"
                );
                Cursor { validity, uid: 0 }
            }
            None => Cursor { validity, uid: 0 },
        };
        intake.health().detail(
            NAME,
            "mode",
            serde_json::json!(if idle { "idle" } else { "poll" }),
        );
        tracing::info!(mailbox = %config.mailbox, validity, from_uid = cursor.uid + 1, idle, "email: reading");
        loop {
            if let Err(e) = self
                .catch_up(intake, &mut session, &mut cursor, can_move, shutdown)
                .await
            {
                return End::Failed(e);
            }
            intake.health().ok(NAME);
            *backoff = Duration::from_secs(1);
            if shutdown.is_cancelled() {
                let _ = session.logout().await;
                return End::Shutdown;
            }
            if idle {
                let mut handle = session.idle();
                if let Err(e) = step(timeout, "IDLE", handle.init()).await {
                    return End::Failed(e);
                }
                let (wait, stop) = handle.wait_with_timeout(Duration::from_secs(config.idle_secs));
                let outcome = tokio::select! {
                    _ = shutdown.cancelled() => None,
                    r = wait => Some(r),
                };
                drop(stop);
                if let Some(Err(e)) = outcome {
                    return End::Failed(format!("IMAP IDLE: {e}"));
                }
                if let Some(Ok(IdleResponse::Timeout)) = outcome {
                    tracing::debug!("email: re-issuing IDLE");
                }
                session = match step(timeout, "DONE", handle.done()).await {
                    Ok(s) => s,
                    Err(e) => return End::Failed(e),
                };
            } else {
                if pause(shutdown, Duration::from_secs(config.poll_secs)).await {
                    let _ = session.logout().await;
                    return End::Shutdown;
                }
                if let Err(e) = step(timeout, "NOOP", session.noop()).await {
                    return End::Failed(e);
                }
            }
        }
    }

    /// Fetch and store every message above the cursor, in UID order, in batches.
    async fn catch_up(
        &self,
        intake: &Intake,
        session: &mut Session<MailStream>,
        cursor: &mut Cursor,
        can_move: bool,
        shutdown: &CancellationToken,
    ) -> Result<(), String> {
        let config = &self.config;
        let timeout = Duration::from_secs(config.timeout_secs);
        loop {
            let query = format!("UID {}:*", cursor.uid + 1);
            let found = tokio::time::timeout(timeout, session.uid_search(&query))
                .await
                .map_err(|_| "IMAP SEARCH timed out".to_string())?
                .map_err(|e| format!("IMAP SEARCH: {e}"))?;
            // `N:*` names the last message even when its UID is below N.
            let mut uids: Vec<u32> = found.into_iter().filter(|&u| u > cursor.uid).collect();
            if uids.is_empty() {
                return Ok(());
            }
            uids.sort_unstable();
            uids.truncate(config.batch_size as usize);
            let set = uids
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let mut batch = self.fetch(session, &set).await?;
            batch.sort_by_key(|(uid, _)| *uid);
            let mut done = Vec::with_capacity(batch.len());
            for (uid, raw) in batch {
                let next = Cursor {
                    validity: cursor.validity,
                    uid,
                };
                let size = raw.len();
                match process::receive(intake, config, raw, next.text()).await {
                    Ok(receipt) => {
                        tracing::debug!(uid, size, ?receipt, "email stored");
                        intake.health().count(Metric::Fetched, NAME);
                    }
                    // The database is failing: stop here; the cursor says where to resume.
                    Err(e) => return Err(format!("storing UID {uid}: {e}")),
                }
                *cursor = next;
                done.push(uid);
                if shutdown.is_cancelled() {
                    break;
                }
            }
            self.after_commit(session, &done, can_move).await;
            if shutdown.is_cancelled() {
                return Ok(());
            }
        }
    }

    async fn fetch(
        &self,
        session: &mut Session<MailStream>,
        set: &str,
    ) -> Result<Vec<(u32, Vec<u8>)>, String> {
        // A large batch of large mails can take a while: allow the timeout per message.
        let limit =
            Duration::from_secs(self.config.timeout_secs) * (set.matches(',').count() as u32 + 1);
        let fetched = async {
            let stream = session
                .uid_fetch(set, "(UID BODY.PEEK[])")
                .await
                .map_err(|e| format!("IMAP FETCH: {e}"))?;
            let fetches: Vec<_> = stream
                .try_collect()
                .await
                .map_err(|e| format!("IMAP FETCH: {e}"))?;
            Ok::<_, String>(
                fetches
                    .into_iter()
                    .filter_map(|f| Some((f.uid?, f.body()?.to_vec())))
                    .collect(),
            )
        };
        tokio::time::timeout(limit, fetched)
            .await
            .map_err(|_| "IMAP FETCH timed out".to_string())?
    }

    /// Flag or move messages once stored. A failure (or a crash before this) is harmless:
    /// the cursor already says they are stored.
    async fn after_commit(&self, session: &mut Session<MailStream>, uids: &[u32], can_move: bool) {
        if uids.is_empty() {
            return;
        }
        let set = uids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let timeout = Duration::from_secs(self.config.timeout_secs);
        if self.config.mark_seen {
            let flagged = tokio::time::timeout(timeout, async {
                let stream = session.uid_store(&set, "+FLAGS.SILENT (\\Seen)").await?;
                let _: Vec<_> = stream.try_collect().await?;
                Ok::<_, async_imap::error::Error>(())
            })
            .await;
            if !matches!(flagged, Ok(Ok(()))) {
                tracing::warn!("email: could not set \\Seen on stored messages");
            }
        }
        let target = &self.config.processed_mailbox;
        if !target.is_empty() {
            let moved = tokio::time::timeout(timeout, async {
                if can_move {
                    session.uid_mv(&set, target).await
                } else {
                    // Without MOVE, a copy: mail is never deleted.
                    session.uid_copy(&set, target).await
                }
            })
            .await;
            if !matches!(moved, Ok(Ok(()))) {
                tracing::warn!(mailbox = %target, "email: could not move stored messages");
            }
        }
    }
}

/// `f`, bounded by `timeout`, its error as text.
async fn step<T>(
    timeout: Duration,
    what: &str,
    f: impl Future<Output = async_imap::error::Result<T>>,
) -> Result<T, String> {
    tokio::time::timeout(timeout, f)
        .await
        .map_err(|_| format!("IMAP {what} timed out"))?
        .map_err(|e| format!("IMAP {what}: {e}"))
}

/// Wait `d` unless shut down first; `true` when shut down.
async fn pause(shutdown: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(d) => false,
    }
}
