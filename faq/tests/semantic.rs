//! The matcher with the sentence encoder, on the sample sheets: questions that share
//! meaning but few words with their sheet, near ties, and bad input.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use sportello_encoder::CachedEncoder;
use sportello_faq::{
    DecisionKind, Matcher, MatcherParams, Reason, Synonyms, load_offices, load_sheets,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn encoder() -> Arc<CachedEncoder> {
    CachedEncoder::shared(&root().join("models/e5-small-it-en.spe5")).expect("the model loads")
}

/// The sample sheets with the encoder, built once for the whole test binary.
fn semantic() -> &'static Matcher {
    static MATCHER: OnceLock<Matcher> = OnceLock::new();
    MATCHER.get_or_init(|| {
        let offices = load_offices(&root().join("config/offices.toml")).unwrap();
        let sheets = load_sheets(&root().join("config/sheets"), &offices)
            .unwrap()
            .sheets;
        Matcher::with_semantic(
            &sheets,
            &Synonyms::default(),
            MatcherParams::default(),
            encoder(),
            &Default::default(),
        )
    })
}

#[test]
fn a_question_in_other_words_finds_its_sheet() {
    let m = semantic();
    assert!(m.is_semantic());
    let top = |q: &str| m.rank(q, 1)[0].sheet_id.clone();
    assert_eq!(top("voglio andare a pescare in un lago"), "licenza-pesca");
    assert_eq!(
        top("dove può allenarsi la nostra squadra di pallavolo la sera?"),
        "scuole-uso-palestre"
    );
    let d = m.decide("ho preso una buca con la macchina e si è rotta la gomma, chi paga?");
    assert_eq!(d.kind, DecisionKind::Answer, "{d:?}");
    assert_eq!(d.candidates[0].sheet_id, "risarcimento-danni-strade");
}

#[test]
fn a_near_tie_is_offered_not_answered() {
    // Two sheets on the pink card: how to apply and what it gives. Asked how to apply,
    // the citizen is never answered with the benefits.
    let d = semantic().decide("come si richiede la carta rosa?");
    if d.kind == DecisionKind::Answer {
        assert_eq!(d.candidates[0].sheet_id, "pink-card-richiesta", "{d:?}");
    } else {
        assert_eq!(d.kind, DecisionKind::Clarify, "{d:?}");
        let offered: Vec<&str> = d.candidates.iter().map(|c| c.sheet_id.as_str()).collect();
        assert!(offered.contains(&"pink-card-richiesta"), "{offered:?}");
    }
}

#[test]
fn two_sheets_alike_are_both_offered_by_either_matcher() {
    let one = sportello_faq::testing::sheet(
        "tari-rate",
        "Pagare la tassa rifiuti a rate",
        "La TARI si paga in tre rate.",
        &["Posso pagare la TARI a rate?"],
        &[],
    );
    let mut two = one.clone();
    two.id = "tari-rate-bis".into();
    let sheets = [one, two];
    let lexical = Matcher::new(&sheets, &Synonyms::default(), MatcherParams::default());
    let semantic = Matcher::with_semantic(
        &sheets,
        &Synonyms::default(),
        MatcherParams::default(),
        encoder(),
        &Default::default(),
    );
    for m in [&lexical, &semantic] {
        let d = m.decide("posso pagare la tari a rate?");
        assert_eq!(d.kind, DecisionKind::Clarify, "{d:?}");
        assert_eq!(d.candidates.len(), 2);
    }
}

#[test]
fn bad_input_gets_a_decision() {
    let m = semantic();
    let long = "carta rosa ".repeat(10_000);
    assert!(long.len() >= 100_000);
    for text in [
        long.as_str(),
        "😀😀😀🙏",
        "Где находится URP? 申请 carta rosa ممكن",
        "",
        "   \n\t ",
        "\u{0}\u{200b}\u{202e}abc",
    ] {
        let d = m.decide(text);
        assert!(d.confidence.is_finite() && (0.0..=1.0).contains(&d.confidence));
        assert!(d.candidates.iter().all(|c| c.confidence.is_finite()));
    }
    assert_eq!(m.decide("").reason, Reason::Empty);
    assert_eq!(m.decide("😀😀😀🙏").reason, Reason::Empty);
}
