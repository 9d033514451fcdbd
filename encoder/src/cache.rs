//! A cache of embeddings, least recently used out first, so that a question asked
//! again (the same words, whatever the spacing) costs a lookup instead of an encoder
//! pass; and the process-wide registry of loaded models, so that every matcher of a
//! process over the same model file shares one copy of the weights and one cache.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use lru::LruCache;

use crate::{Encoder, Error, Kind};

/// How many embeddings a shared encoder's cache holds (1.5 KiB each).
pub const SHARED_CAPACITY: usize = 4096;

/// Embeddings by kind and text.
type Cache = LruCache<(Kind, String), Arc<[f32]>>;

/// An [`Encoder`] with an LRU cache of embeddings: questions by normalised text,
/// passages by their exact text.
pub struct CachedEncoder {
    encoder: Arc<Encoder>,
    cache: Mutex<Cache>,
}

/// The cache key of a question: trimmed, with every run of whitespace made
/// one space. Case is kept: the model tells "Roma" from "roma".
pub fn normalise_query(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl CachedEncoder {
    /// Wraps an encoder with room for `capacity` embeddings (at least one).
    pub fn new(encoder: Arc<Encoder>, capacity: usize) -> CachedEncoder {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        CachedEncoder {
            encoder,
            cache: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// The model file at `path`, loaded once per process and shared with a cache of
    /// [`SHARED_CAPACITY`] embeddings. A second call with the same file (by its
    /// canonical path) returns the same encoder.
    pub fn shared(path: &Path) -> Result<Arc<CachedEncoder>, Error> {
        static LOADED: OnceLock<Mutex<HashMap<PathBuf, Arc<CachedEncoder>>>> = OnceLock::new();
        let key = path.canonicalize()?;
        let mut loaded = LOADED
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = loaded.get(&key) {
            return Ok(Arc::clone(found));
        }
        let encoder = Arc::new(CachedEncoder::new(
            Arc::new(Encoder::load(&key)?),
            SHARED_CAPACITY,
        ));
        loaded.insert(key, Arc::clone(&encoder));
        Ok(encoder)
    }

    /// The encoder itself.
    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// The embedding of the normalised question, from the cache when it is there.
    pub fn query(&self, text: &str) -> Arc<[f32]> {
        self.embed(text, Kind::Query)
    }

    /// The embedding of a text of either kind, from the cache when it is there. The
    /// encoder runs outside the lock: two threads missing the same text at once both
    /// compute it, and store the same vector.
    pub fn embed(&self, text: &str, kind: Kind) -> Arc<[f32]> {
        let key = match kind {
            Kind::Query => (kind, normalise_query(text)),
            Kind::Passage => (kind, text.to_string()),
        };
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned();
        if let Some(hit) = cached {
            return hit;
        }
        let embedding: Arc<[f32]> = self.encoder.embed(&key.1, kind).into();
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .put(key, Arc::clone(&embedding));
        embedding
    }

    /// How many embeddings the cache holds.
    pub fn len(&self) -> usize {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
