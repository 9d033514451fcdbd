//! The semantic index's lifecycle on both backends: a first build larger than what a
//! publication embeds inline runs in the background while the lexical matcher answers,
//! its embeddings are stored under (model id, text key), and a restart reuses them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sportello_core::knowledge::{INLINE_TEXTS, Knowledge};
use sportello_core::testing::TestDb;
use sportello_faq::semantic::sheet_texts;
use sportello_faq::{MatcherParams, Sheet, Synonyms};
use tokio_util::sync::CancellationToken;

fn params() -> MatcherParams {
    MatcherParams {
        model: PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../models/e5-small-it-en.spe5"
        )),
        ..MatcherParams::default()
    }
}

/// More sheets than a publication embeds inline: every sheet has a title, two phrasings
/// and an answer.
fn many_sheets() -> Vec<Sheet> {
    let topics = [
        (
            "licenza-pesca",
            "Licenza di pesca",
            "pescare nei fiumi e nei laghi",
        ),
        (
            "passo-carraio",
            "Passo carraio",
            "l'accesso delle auto al cortile",
        ),
        (
            "tesserino-caccia",
            "Tesserino venatorio",
            "cacciare nella stagione",
        ),
        (
            "bollino-caldaia",
            "Bollino della caldaia",
            "il controllo dell'impianto termico",
        ),
        (
            "buche-strade",
            "Segnalare una buca",
            "una buca sulla strada provinciale",
        ),
        ("concorsi", "Concorsi pubblici", "lavorare nell'ente"),
    ];
    (0..24)
        .map(|i| {
            let (id, title, what) = topics[i % topics.len()];
            sportello_faq::testing::sheet(
                &format!("{id}-{i}"),
                &format!("{title} ({i})"),
                &format!("Come fare per {what}: modulo {i}, costi e tempi."),
                &[
                    &format!("Come si chiede per {what}? ({i})"),
                    &format!("Che documenti servono per {what}? ({i})"),
                ],
                &[],
            )
        })
        .collect()
}

#[tokio::test]
async fn a_large_first_build_runs_in_the_background_and_a_restart_reuses_it() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let sheets = many_sheets();
        let texts: usize = sheets.iter().map(|s| sheet_texts(s).len()).sum();
        assert!(
            texts > INLINE_TEXTS,
            "{texts} texts would be embedded inline"
        );
        store.save_sheets(&sheets, "test").await.unwrap();

        let knowledge = Arc::new(
            Knowledge::load(store.clone(), Synonyms::default(), params())
                .await
                .unwrap(),
        );
        // At once: the lexical matcher answers, and the status says what is left.
        let status = knowledge.semantic_status();
        assert_eq!(status.state, "indexing", "{}", db.url);
        assert!(!knowledge.matcher().is_semantic());
        let decision = knowledge.matcher().decide("licenza di pesca");
        assert!(
            decision.candidates[0].sheet_id.starts_with("licenza-pesca"),
            "{decision:?}"
        );

        let shutdown = CancellationToken::new();
        let watching = tokio::spawn(
            knowledge
                .clone()
                .watch(Duration::from_millis(100), shutdown.clone()),
        );
        knowledge.semantic_ready().await;
        let status = knowledge.semantic_status();
        assert_eq!(status.state, "ready");
        assert_eq!((status.embedded, status.to_embed), (texts, texts));
        assert!(knowledge.matcher().is_semantic());
        shutdown.cancel();
        watching.await.unwrap();

        let model = status.model.expect("a model id");
        assert_eq!(store.embeddings(&model).await.unwrap().len(), texts);

        // A restart (or another instance) finds every vector stored: semantic at once.
        let again = Knowledge::load(store.clone(), Synonyms::default(), params())
            .await
            .unwrap();
        assert!(again.matcher().is_semantic(), "{}", db.url);
        assert_eq!(again.semantic_status().state, "ready");
        store.close().await;
    }
}

#[tokio::test]
async fn a_published_sheet_is_embedded_before_the_matcher_is_swapped() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let knowledge = Knowledge::load(store.clone(), Synonyms::default(), params())
            .await
            .unwrap();
        assert!(
            knowledge.matcher().is_semantic(),
            "an empty store is complete"
        );
        let sheet = sportello_faq::testing::sheet(
            "palestre-scuole",
            "Uso delle palestre scolastiche",
            "Le associazioni sportive possono chiedere le palestre delle scuole superiori \
             fuori dall'orario delle lezioni.",
            &["Come si prenota una palestra di una scuola?"],
            &[],
        );
        store.save_sheets(&[sheet], "test").await.unwrap();
        assert!(knowledge.refresh().await.unwrap());
        let matcher = knowledge.matcher();
        assert!(matcher.is_semantic(), "{}", db.url);
        let ranked = matcher.rank("dove può allenarsi la nostra squadra di pallavolo?", 1);
        assert_eq!(ranked[0].sheet_id, "palestre-scuole");
        store.close().await;
    }
}

#[tokio::test]
async fn a_missing_model_file_names_the_key() {
    let db = TestDb::sqlite();
    let store = db.store().await;
    let params = MatcherParams {
        model: PathBuf::from("/nonexistent/model.spe5"),
        ..MatcherParams::default()
    };
    let Err(e) = Knowledge::load(store.clone(), Synonyms::default(), params).await else {
        panic!("a missing model must be refused");
    };
    let message = e.to_string();
    assert!(message.contains("matcher.model"), "{message}");
    assert!(message.contains("matcher.semantic = false"), "{message}");
    // Lexical alone needs no model.
    let lexical = MatcherParams {
        semantic: false,
        model: PathBuf::from("/nonexistent/model.spe5"),
        ..MatcherParams::default()
    };
    let k = Knowledge::load(store.clone(), Synonyms::default(), lexical)
        .await
        .unwrap();
    assert_eq!(k.semantic_status().state, "lexical");
    store.close().await;
}
