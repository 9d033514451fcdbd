//! Editing sheets through the API changes what the bot answers at once: the knowledge
//! service rebuilds the matcher from the published sheets after every change.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::json;
use sportello_console::AppState;
use sportello_console::api::sheets;
use sportello_console::session::{Actor, ApiActor};
use sportello_core::config::{ConsoleConfig, Texts};
use sportello_core::health::Health;
use sportello_core::intake::Intake;
use sportello_core::knowledge::Knowledge;
use sportello_core::model::Role;
use sportello_core::policy::Policy;
use sportello_core::store::Store;
use sportello_faq::{MatcherParams, Synonyms};
use tokio_util::sync::CancellationToken;

async fn state(dir: &tempfile::TempDir) -> AppState {
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let store = Store::connect(&url, 2, Duration::from_secs(5))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let params = MatcherParams {
        model: concat!(env!("CARGO_MANIFEST_DIR"), "/../models/e5-small-it-en.spe5").into(),
        ..MatcherParams::default()
    };
    let knowledge = Knowledge::load(store.clone(), Synonyms::default(), params)
        .await
        .unwrap();
    let policy = Arc::new(Policy::with_knowledge(
        Arc::new(knowledge),
        Texts::default(),
    ));
    let intake = Arc::new(Intake::new(
        store.clone(),
        policy,
        Arc::new(Health::new(store.clock())),
    ));
    AppState::new(
        intake,
        Vec::new(),
        ConsoleConfig::default(),
        CancellationToken::new(),
    )
}

fn editor() -> ApiActor {
    ApiActor(Actor {
        name: "elena".into(),
        role: Role::Editor,
        user_id: None,
        csrf: None,
    })
}

#[tokio::test]
async fn a_created_sheet_is_matched_at_once_and_a_drafted_or_deleted_one_no_longer() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir).await;
    let sheet = json!({
        "id": "orari-biblioteca",
        "title": "Orari della biblioteca civica",
        "summary": "La biblioteca è aperta dal lunedì al sabato dalle 9 alle 19.",
        "questions": ["quando apre la biblioteca"]
    });
    sheets::create(State(state.clone()), editor(), Ok(Json(sheet)))
        .await
        .unwrap();
    let policy = state.intake.policy();
    assert!(policy.matcher().sheet("orari-biblioteca").is_some());

    let draft = json!({ "title": "Orari della biblioteca civica", "summary": "In revisione.", "status": "draft" });
    let _updated = sheets::update(
        State(state.clone()),
        editor(),
        Path("orari-biblioteca".into()),
        Ok(Json(draft)),
    )
    .await
    .unwrap();
    assert!(
        policy.matcher().sheet("orari-biblioteca").is_none(),
        "drafts are not matched"
    );

    let _removed = sheets::remove(
        State(state.clone()),
        editor(),
        Path("orari-biblioteca".into()),
    )
    .await
    .unwrap();
    assert!(state.intake.store().sheets().await.unwrap().is_empty());
}
