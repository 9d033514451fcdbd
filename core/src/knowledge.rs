//! The `Knowledge` service: the matcher over the store's published sheets, and the offices
//! that answers name, kept current in every process.
//!
//! It builds the matcher from the published sheets, the synonyms and the matcher's
//! parameters, and rebuilds it whenever the published sheets or the offices change, wherever
//! the change was made: this process's console, another `serve` process on the same
//! PostgreSQL (told by `LISTEN/NOTIFY`), or `sportello sheets import` run against a live
//! store (SQLite: seen by polling a cheap fingerprint). A rebuild happens off the async
//! threads and swaps the new matcher in whole; the bot keeps answering with the old one
//! meanwhile.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use sportello_faq::{Matcher, MatcherParams, Office, Sheet, Synonyms};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::store::notify::SHEETS_CHANNEL;
use crate::store::{Backend, Store};

/// What the bot knows at one moment: the matcher and the offices, swapped together.
pub struct Snapshot {
    /// The matcher over the published sheets.
    pub matcher: Arc<Matcher>,
    /// The offices, by id.
    pub offices: HashMap<String, Office>,
    /// The store's fingerprint this snapshot was built from (empty for fixed knowledge).
    fingerprint: String,
}

/// The matcher's lifecycle: built from the store, rebuilt when the sheets change.
pub struct Knowledge {
    /// `None` for fixed knowledge (sheets given in memory: `ask --sheets`, benchmarks).
    store: Option<Store>,
    synonyms: Synonyms,
    params: MatcherParams,
    current: RwLock<Arc<Snapshot>>,
    /// One rebuild at a time; a second caller waits and then finds the work done.
    rebuilding: Mutex<()>,
}

impl Knowledge {
    /// Knowledge over the store's published sheets and offices.
    pub async fn load(store: Store, synonyms: Synonyms, params: MatcherParams) -> Result<Self> {
        let first = snapshot_of(&store, &synonyms, &params).await?;
        Ok(Self::with(Some(store), synonyms, params, first))
    }

    /// Knowledge that never changes: a matcher built elsewhere and the offices answers name.
    pub fn fixed(matcher: Matcher, offices: &[Office]) -> Self {
        let params = matcher.params().clone();
        let snapshot = Snapshot {
            matcher: Arc::new(matcher),
            offices: by_id(offices),
            fingerprint: String::new(),
        };
        Self::with(None, Synonyms::default(), params, snapshot)
    }

    fn with(
        store: Option<Store>,
        synonyms: Synonyms,
        params: MatcherParams,
        snapshot: Snapshot,
    ) -> Self {
        Self {
            store,
            synonyms,
            params,
            current: RwLock::new(Arc::new(snapshot)),
            rebuilding: Mutex::new(()),
        }
    }

    /// What the bot knows now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The matcher in use.
    pub fn matcher(&self) -> Arc<Matcher> {
        self.snapshot().matcher.clone()
    }

    /// A matcher over other sheets with the same synonyms and parameters, e.g. to try an
    /// editor's draft before it is published.
    pub fn build(&self, sheets: &[Sheet]) -> Matcher {
        Matcher::new(sheets, &self.synonyms, self.params.clone())
    }

    /// Rebuild when the store's published sheets or offices differ from those in use;
    /// returns whether it rebuilt. Call it after this process changed sheets, so that its
    /// next answer uses them.
    pub async fn refresh(&self) -> Result<bool> {
        let Some(store) = &self.store else {
            return Ok(false);
        };
        let _one = self.rebuilding.lock().await;
        if store.sheets_fingerprint().await? == self.snapshot().fingerprint {
            return Ok(false);
        }
        let next = snapshot_of(store, &self.synonyms, &self.params).await?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
        Ok(true)
    }

    /// Keep the matcher current until `shutdown`: on PostgreSQL by listening for other
    /// processes' changes (and checking every `poll` as a safety net), on SQLite by checking
    /// the fingerprint every `poll`.
    pub async fn watch(self: Arc<Self>, poll: Duration, shutdown: CancellationToken) {
        let Some(store) = self.store.clone() else {
            return;
        };
        // With notifications, the fingerprint is only a safety net.
        let poll = match store.backend() {
            Backend::Postgres => poll.max(Duration::from_secs(30)),
            Backend::Sqlite => poll,
        };
        let mut listener = None;
        let mut tick = tokio::time::interval(poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if listener.is_none() {
                listener = match store.listen(&[SHEETS_CHANNEL]).await {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for sheet changes; checking every poll");
                        None
                    }
                };
            }
            let heard = async {
                match listener.as_mut() {
                    Some(l) => match l.try_recv().await {
                        // `None`: the connection was lost and re-established; changes may
                        // have been missed, so look.
                        Ok(_) => true,
                        Err(e) => {
                            tracing::warn!(error = %e, "listening for sheet changes failed");
                            false
                        }
                    },
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                ok = heard => {
                    if !ok {
                        listener = None;
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                    }
                }
                _ = tick.tick() => {}
            }
            if let Err(e) = self.refresh().await {
                tracing::warn!(error = %e, "rebuilding the matcher failed; the previous one stays in use");
            }
        }
    }
}

/// The store's published sheets and offices now, with the matcher built over them. The
/// fingerprint is read first: a change made while building is seen by the next refresh.
async fn snapshot_of(
    store: &Store,
    synonyms: &Synonyms,
    params: &MatcherParams,
) -> Result<Snapshot> {
    let fingerprint = store.sheets_fingerprint().await?;
    let sheets = store.published_sheets().await?;
    let offices = store.offices().await?;
    let (synonyms, params) = (synonyms.clone(), params.clone());
    let started = std::time::Instant::now();
    // Building indexes every phrasing: CPU work, kept off the async threads.
    let matcher = tokio::task::spawn_blocking(move || Matcher::new(&sheets, &synonyms, params))
        .await
        .map_err(|e| Error::Corrupt(format!("building the matcher failed: {e}")))?;
    tracing::info!(
        sheets = matcher.len(),
        ms = started.elapsed().as_millis() as u64,
        "matcher built from the published sheets"
    );
    Ok(Snapshot {
        matcher: Arc::new(matcher),
        offices: by_id(&offices),
        fingerprint,
    })
}

fn by_id(offices: &[Office]) -> HashMap<String, Office> {
    offices.iter().map(|o| (o.id.clone(), o.clone())).collect()
}
