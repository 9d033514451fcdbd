//! The query cache: the same question, however spaced, is embedded once, and
//! the oldest question leaves first when the cache is full.

use std::sync::Arc;

use sportello_encoder::{CachedEncoder, Encoder, normalise_query};

fn cached(capacity: usize) -> CachedEncoder {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/e5-small-it-en.spe5");
    CachedEncoder::new(
        Arc::new(Encoder::load(path).expect("model loads")),
        capacity,
    )
}

#[test]
fn a_question_asked_again_comes_from_the_cache() {
    let encoder = cached(8);
    let first = encoder.query("Quanto costa la licenza di pesca?");
    let again = encoder.query("  Quanto costa   la licenza\tdi pesca? ");
    assert!(Arc::ptr_eq(&first, &again));
    assert_eq!(encoder.len(), 1);
    assert_eq!(
        &first[..],
        &encoder.encoder().query("Quanto costa la licenza di pesca?")[..]
    );
}

#[test]
fn the_least_recently_used_question_leaves_first() {
    let encoder = cached(2);
    let a = encoder.query("orari URP");
    let _b = encoder.query("licenza di pesca");
    let _a_again = encoder.query("orari URP"); // a is now the most recent
    let _c = encoder.query("passo carraio"); // evicts b
    assert_eq!(encoder.len(), 2);
    assert!(Arc::ptr_eq(&a, &encoder.query("orari URP")));
    let b_again = encoder.query("licenza di pesca");
    assert!(!Arc::ptr_eq(&_b, &b_again));
}

#[test]
fn normalisation_keeps_case_and_joins_whitespace() {
    assert_eq!(normalise_query("  Carta\n rosa  "), "Carta rosa");
    assert_eq!(normalise_query(""), "");
}
