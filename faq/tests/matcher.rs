//! The matcher's decisions on a few sample sheets, including bad input.

use sportello_faq::{DecisionKind, Matcher, MatcherParams, Reason};

fn matcher() -> Matcher {
    Matcher::new(
        &sportello_faq::testing::sheets(),
        &sportello_faq::testing::synonyms(),
        MatcherParams::default(),
    )
}

fn top(m: &Matcher, text: &str) -> Option<String> {
    m.rank(text, 3).first().map(|c| c.sheet_id.clone())
}

#[test]
fn a_plain_question_is_answered_from_its_sheet() {
    let d = matcher().decide("come rinnovo la carta rosa?");
    assert_eq!(d.kind, DecisionKind::Answer, "{d:?}");
    assert_eq!(d.candidates[0].sheet_id, "carta-rosa");
    assert!(d.confidence >= MatcherParams::default().answer_threshold);
}

#[test]
fn a_greeting_with_a_question_is_a_question() {
    let d = matcher().decide("ciao, come rinnovo la carta rosa?");
    assert_ne!(d.kind, DecisionKind::Smalltalk);
    assert_eq!(d.candidates[0].sheet_id, "carta-rosa");
}

#[test]
fn greetings_thanks_and_goodbyes_are_small_talk() {
    let m = matcher();
    assert_eq!(m.decide("Buongiorno!").reason, Reason::Greeting);
    assert_eq!(m.decide("grazie mille").reason, Reason::Thanks);
    assert_eq!(m.decide("arrivederci").reason, Reason::Goodbye);
    assert_eq!(m.decide("grazie mille").kind, DecisionKind::Smalltalk);
}

#[test]
fn an_acknowledgement_alone_is_small_talk_never_a_handoff() {
    let m = matcher();
    for text in ["ok", "perfetto", "va bene", "grazie mille", "Ok, perfetto!"] {
        let d = m.decide(text);
        assert_eq!(d.kind, DecisionKind::Smalltalk, "{text}: {d:?}");
    }
    assert_eq!(m.decide("va bene").reason, Reason::Acknowledgement);
}

#[test]
fn a_request_for_a_person_is_handed_over() {
    let d = matcher().decide("voglio parlare con un operatore");
    assert_eq!(
        (d.kind, d.reason),
        (DecisionKind::Handoff, Reason::PersonRequested)
    );
}

#[test]
fn abuse_is_handed_over() {
    let d = matcher().decide("siete degli idioti");
    assert_eq!((d.kind, d.reason), (DecisionKind::Handoff, Reason::Abuse));
}

#[test]
fn a_sheet_that_requires_an_operator_hands_over_even_when_matched() {
    let d = matcher().decide("voglio fare un reclamo formale");
    assert_eq!(d.kind, DecisionKind::Handoff, "{d:?}");
    assert_eq!(d.reason, Reason::SheetRequiresOperator("reclami".into()));
}

#[test]
fn drafts_are_never_candidates() {
    let m = matcher();
    assert!(m.sheet("bozza-caccia").is_none());
    assert_eq!(m.len(), 6);
    let d = m.decide("come ottengo la licenza di caccia");
    assert!(d.candidates.iter().all(|c| c.sheet_id != "bozza-caccia"));
}

#[test]
fn synonyms_and_abbreviations_reach_their_sheet() {
    let m = matcher();
    assert_eq!(top(&m, "pink card").as_deref(), Some("carta-rosa"));
    assert_eq!(top(&m, "richiesta FOIA").as_deref(), Some("foia"));
    assert_eq!(top(&m, "CIE").as_deref(), Some("cie"));
}

#[test]
fn missing_accents_and_typos_are_tolerated() {
    let m = matcher();
    assert_eq!(top(&m, "cambio di resdienza").as_deref(), Some("residenza"));
    assert_eq!(top(&m, "carta d identita").as_deref(), Some("cie"));
}

#[test]
fn numbers_are_matched_as_written() {
    assert_eq!(top(&matcher(), "800 000 000").as_deref(), Some("urp-orari"));
}

#[test]
fn a_clarification_offers_at_most_three_sheets() {
    let params = MatcherParams {
        answer_threshold: 1.1,
        clarify_threshold: 0.0,
        ..MatcherParams::default()
    };
    let m = Matcher::new(
        &sportello_faq::testing::sheets(),
        &sportello_faq::testing::synonyms(),
        params,
    );
    let d = m.decide("carta documento residenza accesso orari reclamo");
    assert_eq!(d.kind, DecisionKind::Clarify);
    assert!(!d.candidates.is_empty() && d.candidates.len() <= 3, "{d:?}");
}

#[test]
fn other_decisions_carry_a_longer_ranking_for_operators_and_eval() {
    let params = MatcherParams {
        answer_threshold: 1.1,
        clarify_threshold: 1.1,
        ..MatcherParams::default()
    };
    let m = Matcher::new(
        &sportello_faq::testing::sheets(),
        &sportello_faq::testing::synonyms(),
        params,
    );
    let d = m.decide("carta documento residenza accesso orari reclamo");
    assert_eq!(
        (d.kind, d.reason.clone()),
        (DecisionKind::Handoff, Reason::NoMatch)
    );
    assert!(d.candidates.len() > 3, "{d:?}");
}

#[test]
fn confidences_lie_between_zero_and_one_and_are_ranked() {
    let ranked = matcher().rank("carta rosa residenza", 10);
    assert!(ranked.iter().all(|c| (0.0..=1.0).contains(&c.confidence)));
    assert!(
        ranked
            .windows(2)
            .all(|w| w[0].confidence >= w[1].confidence)
    );
}

#[test]
fn an_off_topic_question_is_not_answered() {
    let d = matcher().decide("a che ora passa il treno per Genova domani mattina?");
    assert_ne!(d.kind, DecisionKind::Answer, "{d:?}");
}

#[test]
fn bad_input_always_gets_a_decision() {
    let m = matcher();
    let long = "carta rosa ".repeat(10_000);
    let one_word = "a".repeat(100_000);
    let cases = [
        "",
        "   \n\t",
        "😀😀🙏",
        "?!?!... ;-)",
        "https://example.org/pagina?x=1",
        "la il di che e",
        "Привет как дела 你好 مرحبا carta",
        "\u{0}\u{200b}\u{feff}",
        long.as_str(),
        one_word.as_str(),
    ];
    for text in cases {
        let d = m.decide(text);
        assert!((0.0..=1.0).contains(&d.confidence), "{text:?}: {d:?}");
    }
    assert_eq!(m.decide("").reason, Reason::Empty);
    assert_eq!(m.decide("😀😀🙏").reason, Reason::Empty);
    assert_eq!(
        m.decide("https://example.org/pagina?x=1").reason,
        Reason::Empty
    );
    assert_eq!(m.decide("la il di che e").kind, DecisionKind::Handoff);
    assert_eq!(m.decide(&long).candidates[0].sheet_id, "carta-rosa");
}

#[test]
fn an_empty_matcher_hands_everything_over() {
    let m = Matcher::new(&[], &Default::default(), MatcherParams::default());
    assert!(m.is_empty());
    assert_eq!(m.decide("carta rosa").kind, DecisionKind::Handoff);
}
