//! A cache of query embeddings, least recently used out first, so that a
//! question asked again (the same words, whatever the spacing) costs a lookup
//! instead of an encoder pass.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};

use lru::LruCache;

use crate::Encoder;

/// An [`Encoder`] with an LRU cache of query embeddings by normalised text.
pub struct CachedEncoder {
    encoder: Arc<Encoder>,
    cache: Mutex<LruCache<String, Arc<[f32]>>>,
}

/// The cache key of a question: trimmed, with every run of whitespace made
/// one space. Case is kept: the model tells "Roma" from "roma".
pub fn normalise_query(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl CachedEncoder {
    /// Wraps an encoder with room for `capacity` query embeddings (at least one).
    pub fn new(encoder: Arc<Encoder>, capacity: usize) -> CachedEncoder {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        CachedEncoder {
            encoder,
            cache: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// The encoder itself, for passages.
    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// The embedding of the normalised question, from the cache when it is there.
    /// The encoder runs outside the lock: two threads missing the same text at
    /// once both compute it, and store the same vector.
    pub fn query(&self, text: &str) -> Arc<[f32]> {
        let key = normalise_query(text);
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned();
        if let Some(hit) = cached {
            return hit;
        }
        let embedding: Arc<[f32]> = self.encoder.query(&key).into();
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
