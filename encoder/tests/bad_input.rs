//! Whatever a citizen types, the encoder returns a unit-length embedding and
//! never panics: empty text, emoji only, mixed scripts, control characters,
//! 100,000 characters.

use sportello_encoder::{DIMENSION, Encoder, Kind, cosine};

fn model() -> Encoder {
    Encoder::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../models/e5-small-it-en.spe5"
    ))
    .expect("model loads")
}

fn assert_unit(v: &[f32]) {
    assert_eq!(v.len(), DIMENSION);
    assert!(v.iter().all(|x| x.is_finite()));
    let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
}

fn long_text(chars: usize) -> String {
    let sentence =
        "Vorrei sapere come si richiede la carta rosa, quali documenti servono e quanto costa. ";
    sentence.chars().cycle().take(chars).collect()
}

#[test]
fn odd_short_texts_get_unit_embeddings() {
    let encoder = model();
    for text in [
        "",
        " ",
        "\n\t\r",
        "😀🙏🏻👍🇮🇹",
        "你好 Привет مرحبا Ciao",
        "\0\u{1}\u{7f}",
        "\u{200b}\u{feff}",
        "\u{10ffff}",
    ] {
        for kind in [Kind::Query, Kind::Passage] {
            assert_unit(&encoder.embed(text, kind));
        }
    }
}

#[test]
fn a_query_of_100000_characters_is_truncated_to_the_window() {
    let encoder = model();
    let text = long_text(100_000);
    let ids = encoder.token_ids(&text, Kind::Query);
    assert!(ids.len() > 10_000);
    let embedding = encoder.query(&text);
    assert_unit(&embedding);
    // what follows the first 510 tokens does not count
    let shorter: String = text.chars().take(20_000).collect();
    assert_eq!(embedding, encoder.query(&shorter));
}

#[test]
fn a_long_passage_is_embedded_window_by_window() {
    let encoder = model();
    let text = long_text(6_000);
    assert!(encoder.token_ids(&text, Kind::Passage).len() > 2 * 510);
    let whole = encoder.passage(&text);
    assert_unit(&whole);
    // the windows after the first one count: the same text cut to one
    // window gives a (slightly) different vector
    let first: String = text.chars().take(1_500).collect();
    assert!(encoder.token_ids(&first, Kind::Passage).len() < 510);
    let c = cosine(&whole, &encoder.passage(&first));
    assert!(c < 0.99999 && c > 0.8, "cosine {c}");
}

#[test]
fn a_question_is_closer_to_the_sheet_that_answers_it() {
    let encoder = model();
    let question = encoder.query("come si richiede la carta rosa?");
    let right = encoder.passage(
        "Per richiedere la Pink Card compila il modulo online e allega un documento d'identità.",
    );
    let wrong = encoder.passage(
        "Per segnalare una buca sulla strada provinciale usa il modulo delle segnalazioni.",
    );
    let (right, wrong) = (cosine(&question, &right), cosine(&question, &wrong));
    assert!(right > wrong + 0.02, "right {right}, wrong {wrong}");
}
