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
//!
//! With `matcher.semantic` (the default), the matcher also ranks with the sentence
//! encoder, over embeddings of every published sheet's title, phrasings and answer. Those
//! are kept in the store under (model id, text key), so a restart or another instance
//! reuses them. A publication that leaves few texts to embed ([`INLINE_TEXTS`]) embeds them
//! before the new matcher is swapped in; a larger first build (a new store of 1,000
//! sheets, a new model) swaps in the lexical matcher at once and embeds in the background,
//! in batches, with its progress in [`Knowledge::semantic_status`] (shown by `/healthz`);
//! the semantic matcher is swapped in when every text has its vector. The bot never stops
//! answering.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Serialize;
use sportello_encoder::CachedEncoder;
use sportello_faq::semantic::{SheetText, Vectors, sheet_texts};
use sportello_faq::{Matcher, MatcherParams, Office, Sheet, Synonyms};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::config::ConfigError;
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
    /// Texts of the published sheets still without an embedding: the matcher is lexical
    /// until the background build has embedded them.
    missing: Vec<SheetText>,
    /// The embeddings the matcher was built with, for matchers over drafts.
    vectors: Arc<Vectors>,
}

/// How many texts a rebuild embeds before swapping the matcher in; more are embedded in
/// the background while the lexical matcher answers (a 20-token phrasing takes about
/// 4 ms on one core, an answer passage 10–40 ms).
pub const INLINE_TEXTS: usize = 64;

/// How many texts the background build embeds and stores at a time.
const BATCH: usize = 16;

/// The semantic index's state, for `/healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SemanticStatus {
    /// `lexical` (`matcher.semantic = false`), `indexing` or `ready`.
    pub state: &'static str,
    /// The model's id, when semantic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Texts embedded by the background build running now.
    pub embedded: usize,
    /// Texts that build has to embed.
    pub to_embed: usize,
}

#[derive(Default)]
struct Progress {
    running: AtomicBool,
    done: AtomicUsize,
    total: AtomicUsize,
}

/// The matcher's lifecycle: built from the store, rebuilt when the sheets change.
pub struct Knowledge {
    /// `None` for fixed knowledge (sheets given in memory: `ask --sheets`, benchmarks).
    store: Option<Store>,
    synonyms: Synonyms,
    params: MatcherParams,
    /// The sentence encoder, when `matcher.semantic`.
    encoder: Option<Arc<CachedEncoder>>,
    current: RwLock<Arc<Snapshot>>,
    /// One rebuild at a time; a second caller waits and then finds the work done.
    rebuilding: Mutex<()>,
    progress: Progress,
    /// Woken at every swap of the snapshot.
    swapped: tokio::sync::Notify,
}

impl Knowledge {
    /// Knowledge over the store's published sheets and offices.
    pub async fn load(store: Store, synonyms: Synonyms, params: MatcherParams) -> Result<Self> {
        let encoder = encoder(&params)?;
        let first = snapshot_of(&store, &synonyms, &params, encoder.as_ref(), None).await?;
        let mut knowledge = Self::with(Some(store), synonyms, params, first);
        knowledge.encoder = encoder;
        Ok(knowledge)
    }

    /// Knowledge that never changes: a matcher built elsewhere and the offices answers name.
    pub fn fixed(matcher: Matcher, offices: &[Office]) -> Self {
        let params = matcher.params().clone();
        let snapshot = Snapshot {
            matcher: Arc::new(matcher),
            offices: by_id(offices),
            fingerprint: String::new(),
            missing: Vec::new(),
            vectors: Arc::default(),
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
            encoder: None,
            current: RwLock::new(Arc::new(snapshot)),
            rebuilding: Mutex::new(()),
            progress: Progress::default(),
            swapped: tokio::sync::Notify::new(),
        }
    }

    /// The semantic index's state.
    pub fn semantic_status(&self) -> SemanticStatus {
        let snapshot = self.snapshot();
        let Some(encoder) = &self.encoder else {
            return SemanticStatus {
                state: if snapshot.matcher.is_semantic() {
                    "ready"
                } else {
                    "lexical"
                },
                model: None,
                embedded: 0,
                to_embed: 0,
            };
        };
        SemanticStatus {
            state: if snapshot.matcher.is_semantic() {
                "ready"
            } else {
                "indexing"
            },
            model: Some(encoder.encoder().id().to_string()),
            embedded: self.progress.done.load(Ordering::Relaxed),
            to_embed: self.progress.total.load(Ordering::Relaxed),
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
    /// With the encoder, the published sheets' embeddings are reused and the drafts'
    /// texts embedded: call it off the async threads.
    pub fn build(&self, sheets: &[Sheet]) -> Matcher {
        let snapshot = self.snapshot();
        match &self.encoder {
            Some(encoder) if snapshot.matcher.is_semantic() => Matcher::with_semantic(
                sheets,
                &self.synonyms,
                self.params.clone(),
                Arc::clone(encoder),
                &snapshot.vectors,
            ),
            _ => Matcher::new(sheets, &self.synonyms, self.params.clone()),
        }
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
        self.rebuild(store).await?;
        Ok(true)
    }

    async fn rebuild(&self, store: &Store) -> Result<()> {
        let previous = self.snapshot();
        let next = snapshot_of(
            store,
            &self.synonyms,
            &self.params,
            self.encoder.as_ref(),
            Some(&previous.vectors),
        )
        .await?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
        self.swapped.notify_waiters();
        Ok(())
    }

    /// Embed the texts the matcher still lacks, in batches, storing each batch, then swap
    /// the semantic matcher in. Does nothing when the matcher is complete or another
    /// build runs.
    async fn complete(&self, shutdown: &CancellationToken) -> Result<()> {
        let (Some(store), Some(encoder)) = (&self.store, &self.encoder) else {
            return Ok(());
        };
        let missing = self.snapshot().missing.clone();
        if missing.is_empty() || self.progress.running.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        struct Running<'a>(&'a AtomicBool);
        impl Drop for Running<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Release);
            }
        }
        let _running = Running(&self.progress.running);
        self.progress.done.store(0, Ordering::Relaxed);
        self.progress.total.store(missing.len(), Ordering::Relaxed);
        let started = std::time::Instant::now();
        tracing::info!(
            texts = missing.len(),
            "embedding the sheets in the background; the lexical matcher answers meanwhile"
        );
        for batch in missing.chunks(BATCH) {
            if shutdown.is_cancelled() {
                return Ok(());
            }
            let vectors = embed(encoder, batch.to_vec()).await?;
            store
                .save_embeddings(encoder.encoder().id(), &vectors)
                .await?;
            self.progress.done.fetch_add(batch.len(), Ordering::Relaxed);
        }
        tracing::info!(
            texts = missing.len(),
            ms = started.elapsed().as_millis() as u64,
            "sheets embedded"
        );
        let _one = self.rebuilding.lock().await;
        self.rebuild(store).await
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
        let mut completing: Option<tokio::task::JoinHandle<()>> = None;
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
            if !self.snapshot().missing.is_empty()
                && completing.as_ref().is_none_or(|c| c.is_finished())
            {
                let (me, shutdown) = (Arc::clone(&self), shutdown.clone());
                completing = Some(tokio::spawn(async move {
                    if let Err(e) = me.complete(&shutdown).await {
                        tracing::warn!(error = %e, "embedding the sheets failed; the lexical matcher stays in use, retrying at the next check");
                    }
                }));
            }
        }
    }

    /// Wait until the semantic matcher is in use (at once when it is, or when the
    /// knowledge is lexical). For tests and tools that must not measure the lexical
    /// fallback; the bot itself never waits.
    pub async fn semantic_ready(&self) {
        loop {
            // Registered before looking, so that a swap in between is not missed.
            let swapped = self.swapped.notified();
            if self.encoder.is_none() || self.snapshot().matcher.is_semantic() {
                return;
            }
            swapped.await;
        }
    }
}

/// The encoder of `matcher.model`, loaded once per process, when `matcher.semantic`.
fn encoder(params: &MatcherParams) -> Result<Option<Arc<CachedEncoder>>> {
    if !params.semantic {
        return Ok(None);
    }
    CachedEncoder::shared(&params.model).map(Some).map_err(|e| {
        Error::Config(ConfigError::new(
            "matcher.model",
            Some(params.model.display().to_string()),
            format!("{e}; set matcher.model to the encoder's model file, or matcher.semantic = false for the lexical matcher alone"),
        ))
    })
}

/// Embed texts off the async threads.
async fn embed(
    encoder: &Arc<CachedEncoder>,
    texts: Vec<SheetText>,
) -> Result<Vec<(String, Vec<f32>)>> {
    let encoder = Arc::clone(encoder);
    tokio::task::spawn_blocking(move || {
        texts
            .into_iter()
            .map(|t| (t.key, encoder.embed(&t.text, t.kind).to_vec()))
            .collect()
    })
    .await
    .map_err(|e| Error::Corrupt(format!("embedding failed: {e}")))
}

/// The store's published sheets and offices now, with the matcher built over them. The
/// fingerprint is read first: a change made while building is seen by the next refresh.
///
/// With an encoder, the stored embeddings are read; when few texts lack one they are
/// embedded and stored now, otherwise the matcher is lexical and the snapshot lists them
/// for the background build.
async fn snapshot_of(
    store: &Store,
    synonyms: &Synonyms,
    params: &MatcherParams,
    encoder: Option<&Arc<CachedEncoder>>,
    previous: Option<&Vectors>,
) -> Result<Snapshot> {
    let fingerprint = store.sheets_fingerprint().await?;
    let sheets = store.published_sheets().await?;
    let offices = store.offices().await?;
    let mut missing = Vec::new();
    let mut vectors = Vectors::new();
    if let Some(encoder) = encoder {
        let model = encoder.encoder().id();
        // The previous snapshot's vectors first: a publication reads the store only for
        // texts this process has not embedded or read before.
        let mut seen = HashSet::new();
        let mut unknown = Vec::new();
        for t in sheets.iter().flat_map(sheet_texts) {
            if !seen.insert(t.key.clone()) {
                continue;
            }
            match previous.and_then(|p| p.get(&t.key)) {
                Some(v) => {
                    vectors.insert(t.key, Arc::clone(v));
                }
                None => unknown.push(t),
            }
        }
        if !unknown.is_empty() {
            let stored: HashMap<String, Vec<f32>> =
                store.embeddings(model).await?.into_iter().collect();
            for t in unknown {
                match stored.get(&t.key) {
                    Some(v) => {
                        vectors.insert(t.key, v.as_slice().into());
                    }
                    None => missing.push(t),
                }
            }
        }
        if !missing.is_empty() && missing.len() <= INLINE_TEXTS {
            let embedded = embed(encoder, std::mem::take(&mut missing)).await?;
            store.save_embeddings(model, &embedded).await?;
            vectors.extend(embedded.into_iter().map(|(k, v)| (k, v.into())));
        }
    }
    let vectors = Arc::new(vectors);
    let semantic = encoder.filter(|_| missing.is_empty()).cloned();
    let (synonyms, params, known) = (synonyms.clone(), params.clone(), Arc::clone(&vectors));
    let started = std::time::Instant::now();
    // Building indexes every phrasing: CPU work, kept off the async threads.
    let matcher = tokio::task::spawn_blocking(move || match semantic {
        Some(encoder) => Matcher::with_semantic(&sheets, &synonyms, params, encoder, &known),
        None => Matcher::new(&sheets, &synonyms, params),
    })
    .await
    .map_err(|e| Error::Corrupt(format!("building the matcher failed: {e}")))?;
    tracing::info!(
        sheets = matcher.len(),
        semantic = matcher.is_semantic(),
        to_embed = missing.len(),
        ms = started.elapsed().as_millis() as u64,
        "matcher built from the published sheets"
    );
    Ok(Snapshot {
        matcher: Arc::new(matcher),
        offices: by_id(&offices),
        fingerprint,
        missing,
        vectors,
    })
}

fn by_id(offices: &[Office]) -> HashMap<String, Office> {
    offices.iter().map(|o| (o.id.clone(), o.clone())).collect()
}
