//! Citizens' 👍/👎 and ratings on both backends: recorded once, only by their own citizen,
//! and a 👎 offers the other sheets and a person.

use sportello_core::intake::Receipt;
use sportello_core::model::{Action, Button, Inbound};
use sportello_core::protocol::ButtonData;
use sportello_core::store::Store;
use sportello_core::testing::{TestDb, pipeline, text};

fn press(id: &str, who: &str, action: Action) -> Inbound {
    let mut m = text(id, who, "");
    m.action = action;
    m
}

async fn buttons_of(store: &Store, conversation: i64) -> Vec<Vec<Button>> {
    let rows: Vec<Option<String>> =
        sqlx::query_scalar("select buttons from outbox where conversation_id = $1 order by id")
            .bind(conversation)
            .fetch_all(store.pool())
            .await
            .unwrap();
    rows.into_iter()
        .map(|b| {
            b.map(|b| serde_json::from_str(&b).unwrap())
                .unwrap_or_default()
        })
        .collect()
}

async fn feedback_rows(store: &Store) -> Vec<(String, Option<String>, Option<i64>)> {
    let rows = sqlx::query("select kind, sheet_id, score from feedback order by id")
        .fetch_all(store.pool())
        .await
        .unwrap();
    use sqlx::Row;
    rows.iter()
        .map(|r| (r.get("kind"), r.get("sheet_id"), r.get("score")))
        .collect()
}

/// An answered question: (conversation, the question's message id).
async fn answered(intake: &sportello_core::intake::Intake, who: &str) -> (i64, i64) {
    let mut m = text(&format!("q-{who}"), who, "Pink Card");
    m.action = Action::ChooseSheet("pink-card".into());
    match intake.receive(m).await.unwrap() {
        Receipt::Stored {
            conversation_id,
            message_id,
            ..
        } => (conversation_id, message_id),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_answer_carries_feedback_buttons_naming_the_question() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        let (conv, question) = answered(&intake, "ada").await;
        let buttons = buttons_of(&store, conv).await;
        let data: Vec<String> = buttons[0].iter().map(|b| b.data.to_string()).collect();
        assert_eq!(
            data,
            [format!("fb:{question}:y"), format!("fb:{question}:n")],
            "{}",
            db.backend
        );
        assert_eq!(
            Action::from(data[1].parse::<ButtonData>().unwrap()),
            Action::Feedback {
                message: question,
                useful: false
            }
        );
    }
}

#[tokio::test]
async fn a_thumbs_down_is_recorded_once_and_offers_a_person() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        let (conv, question) = answered(&intake, "bea").await;
        let no = press(
            "cb-1",
            "bea",
            Action::Feedback {
                message: question,
                useful: false,
            },
        );
        let first = intake.receive(no.clone()).await.unwrap();
        assert_eq!(
            first,
            Receipt::Feedback {
                recorded: true,
                stale: false,
                replies: 1
            },
            "{}",
            db.backend
        );
        let again = intake.receive(no).await.unwrap();
        assert!(
            matches!(
                again,
                Receipt::Feedback {
                    recorded: false,
                    stale: false,
                    replies: 0
                }
            ),
            "{again:?}"
        );
        assert_eq!(
            feedback_rows(&store).await,
            [(
                "not_useful".to_string(),
                Some("pink-card".to_string()),
                None
            )],
            "{}",
            db.backend
        );
        let buttons = buttons_of(&store, conv).await;
        assert_eq!(buttons.len(), 2, "the answer and one offer of alternatives");
        let offer = &buttons[1];
        assert_eq!(offer.last().unwrap().data.to_string(), "operator");
        assert!(
            offer
                .iter()
                .all(|b| b.data.to_string() != "sheet:pink-card"),
            "the sheet that did not help is not offered again: {offer:?}"
        );
    }
}

#[tokio::test]
async fn a_press_on_someone_elses_answer_is_stale_and_records_nothing() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        let (_, question) = answered(&intake, "carla").await;
        let forged = press(
            "cb-9",
            "mallory",
            Action::Feedback {
                message: question,
                useful: true,
            },
        );
        let receipt = intake.receive(forged).await.unwrap();
        assert_eq!(
            receipt,
            Receipt::Feedback {
                recorded: false,
                stale: true,
                replies: 0
            },
            "{}",
            db.backend
        );
        assert!(feedback_rows(&store).await.is_empty());
    }
}

#[tokio::test]
async fn resolving_asks_once_for_a_rating_that_counts_once() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        let (conv, _) = answered(&intake, "dino").await;
        intake.resolve(conv, "op").await.unwrap();
        assert!(
            intake.resolve(conv, "op").await.is_err(),
            "a resolved conversation cannot be resolved again"
        );
        let buttons = buttons_of(&store, conv).await;
        let rating: Vec<String> = buttons
            .last()
            .unwrap()
            .iter()
            .map(|b| b.data.to_string())
            .collect();
        let expected: Vec<String> = (1..=5).map(|n| format!("rate:{conv}:{n}")).collect();
        assert_eq!(rating, expected, "{}", db.backend);
        assert_eq!(
            buttons.len(),
            2,
            "the answer and one rating request on {}",
            db.backend
        );

        let rate = |id: &str, who: &str, score| {
            press(
                id,
                who,
                Action::Rate {
                    conversation: conv,
                    score,
                },
            )
        };
        let stranger = intake.receive(rate("r-0", "eve", 1)).await.unwrap();
        assert!(matches!(stranger, Receipt::Feedback { stale: true, .. }));
        let first = intake.receive(rate("r-1", "dino", 5)).await.unwrap();
        assert!(matches!(first, Receipt::Feedback { recorded: true, .. }));
        let second = intake.receive(rate("r-2", "dino", 1)).await.unwrap();
        assert!(matches!(
            second,
            Receipt::Feedback {
                recorded: false,
                ..
            }
        ));
        assert_eq!(
            feedback_rows(&store).await,
            [("rating".to_string(), None, Some(5))],
            "{}",
            db.backend
        );
    }
}

#[tokio::test]
async fn a_thumbs_down_on_an_answer_chosen_from_a_list_offers_the_other_choices_again() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        // A question the bot was unsure about: it offered two sheets.
        let conv = match intake.receive(text("q0", "lia", "ciao")).await.unwrap() {
            Receipt::Stored {
                conversation_id,
                message_id,
                ..
            } => {
                sqlx::query(
                    "update messages set decision = 'clarify', candidates = $2 where id = $1",
                )
                .bind(message_id)
                .bind(
                    r#"[{"sheet_id":"pink-card","confidence":0.5},{"sheet_id":"passo-carraio","confidence":0.4}]"#,
                )
                .execute(store.pool())
                .await
                .unwrap();
                conversation_id
            }
            other => panic!("{other:?}"),
        };
        let (same, chosen) = answered(&intake, "lia").await;
        assert_eq!(same, conv);
        let receipt = intake
            .receive(press(
                "no-1",
                "lia",
                Action::Feedback {
                    message: chosen,
                    useful: false,
                },
            ))
            .await
            .unwrap();
        assert!(
            matches!(receipt, Receipt::Feedback { replies: 1, .. }),
            "{receipt:?}"
        );
        let offered = buttons_of(&store, conv).await.pop().unwrap();
        let data: Vec<ButtonData> = offered.into_iter().map(|b| b.data).collect();
        assert_eq!(
            data,
            [
                ButtonData::Sheet("passo-carraio".into()),
                ButtonData::Operator
            ],
            "{}",
            db.backend
        );
    }
}
