//! The operators' console and JSON API over HTTP, against a real `sportello serve`.

use reqwest::Method;
use serde_json::json;
use sportello_core::model::Role;
use sportello_testkit::{PASSWORD, TestApp};

/// Log in, see the conversation in the queue, claim it, reply, add a note, transfer, resolve;
/// a second operator is told it is taken.
async fn an_operator_works_a_conversation(app: &TestApp) {
    app.add_user("mario", Role::Operator).await;
    app.add_user("lucia", Role::Operator).await;
    let id = app
        .queue_conversation(
            "telegram",
            "Anna Rossi",
            "Vorrei parlare con qualcuno della TARI",
            None,
        )
        .await;
    let mario = app.login("mario", PASSWORD).await;
    let lucia = app.login("lucia", PASSWORD).await;

    let queue = mario.get("/queue").await.text().await.unwrap();
    assert!(queue.contains("Anna Rossi"), "{queue}");
    assert!(queue.contains("Vorrei parlare con qualcuno della TARI"));
    assert!(queue.contains(&format!("/queue/{id}/claim")));

    let claimed = mario.post_form(&format!("/queue/{id}/claim"), &[]).await;
    assert_eq!(claimed.status(), 303);
    assert_eq!(
        claimed.headers()["location"],
        format!("/conversations/{id}")
    );

    let late = lucia.post_form(&format!("/queue/{id}/claim"), &[]).await;
    assert_eq!(late.status(), 409);
    assert!(late.text().await.unwrap().contains("già presa da mario"));
    let api = lucia
        .json(
            Method::POST,
            &format!("/api/v1/conversations/{id}/claim"),
            None,
        )
        .await;
    assert_eq!(api.status(), 409);
    assert!(
        api.json::<serde_json::Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("mario")
    );
    assert!(
        lucia
            .get("/queue")
            .await
            .text()
            .await
            .unwrap()
            .contains("già presa da mario")
    );

    let replied = mario
        .post_form(
            &format!("/conversations/{id}/reply"),
            &[("text", "Buongiorno, le rispondo io.")],
        )
        .await;
    assert_eq!(replied.status(), 303);
    let outbox = app.store.outbox_of(id).await.unwrap();
    assert!(
        outbox
            .iter()
            .any(|o| o.text == "Buongiorno, le rispondo io." && o.channel == "telegram"),
        "{outbox:?}"
    );
    let page = mario
        .get(&format!("/conversations/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Buongiorno, le rispondo io."));
    assert!(page.contains("Operatore mario"));

    let stolen = lucia
        .post_form(
            &format!("/conversations/{id}/reply"),
            &[("text", "Anche io!")],
        )
        .await;
    assert_eq!(stolen.status(), 409);

    assert_eq!(
        mario
            .post_form(
                &format!("/conversations/{id}/note"),
                &[("text", "Richiamare lunedì")]
            )
            .await
            .status(),
        303
    );
    assert_eq!(
        mario
            .post_form(
                &format!("/conversations/{id}/transfer"),
                &[("office", "protocollo")]
            )
            .await
            .status(),
        303
    );
    let detail: serde_json::Value = mario
        .get(&format!("/api/v1/conversations/{id}"))
        .await
        .json()
        .await
        .unwrap();
    // The transfer puts it in the office's queue, for anyone there to claim, and tells the
    // citizen; with no email channel running, no email is queued that could never leave.
    assert_eq!(detail["conversation"]["office"], "protocollo");
    assert_eq!(detail["conversation"]["status"], "queued");
    assert_eq!(detail["conversation"]["assignee"], serde_json::Value::Null);
    assert_eq!(detail["notes"][0]["text"], "Richiamare lunedì");
    assert_eq!(detail["office_notifications"], json!([]));
    assert!(
        app.store
            .outbox_of(id)
            .await
            .unwrap()
            .iter()
            .any(|o| o.text.contains("Protocollo generale e PEC")
                && o.text.contains(&id.to_string())),
        "the citizen is told where the request went"
    );
    assert!(
        detail["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["author"] == "operator")
    );

    assert_eq!(
        mario
            .post_form(&format!("/conversations/{id}/resolve"), &[])
            .await
            .status(),
        303
    );
    assert_eq!(
        app.store.conversation(id).await.unwrap().status.as_str(),
        "resolved"
    );
    let listed: serde_json::Value = mario
        .get("/api/v1/conversations?status=resolved")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["conversations"][0]["id"], id);

    let audit = app.admin().await.get("/audit").await.text().await.unwrap();
    for action in ["claim", "reply", "note", "transfer", "resolve"] {
        assert!(
            audit.contains(&format!("<td>{action}</td>")),
            "{action} is not in the audit log"
        );
    }
    assert!(audit.contains(&format!("conversation:{id}")));
}

#[tokio::test]
async fn an_operator_works_a_conversation_on_sqlite() {
    an_operator_works_a_conversation(&TestApp::sqlite().await).await;
}

#[tokio::test]
async fn an_operator_works_a_conversation_on_postgres() {
    an_operator_works_a_conversation(&TestApp::postgres().await).await;
}

#[tokio::test]
async fn the_queue_shows_the_oldest_first_filters_and_highlights_late_ones() {
    let app = TestApp::sqlite_with(&[("SPORTELLO_CONSOLE__QUEUE_TARGET_MINUTES", "0")]).await;
    let first = app
        .queue_conversation("telegram", "Primo", "prima domanda", None)
        .await;
    let second = app
        .queue_conversation("email", "Secondo", "seconda domanda", Some("Oggetto"))
        .await;
    let admin = app.admin().await;
    let page = admin.get("/queue").await.text().await.unwrap();
    let (a, b) = (page.find("Primo").unwrap(), page.find("Secondo").unwrap());
    assert!(a < b, "oldest first");
    assert!(
        page.contains(r#"class="late""#),
        "past the target is highlighted"
    );
    let emails = admin
        .get("/queue?channel=email")
        .await
        .text()
        .await
        .unwrap();
    assert!(emails.contains("Secondo") && !emails.contains("Primo"));
    let table = admin
        .get("/queue/table?status=queued")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        table.contains(&format!("conversation-{first}"))
            && table.contains(&format!("conversation-{second}"))
    );
    assert!(!table.contains("<html"), "the live table is a fragment");
}

#[tokio::test]
async fn a_failed_delivery_is_shown_with_its_reason_and_can_be_retried() {
    let app = TestApp::sqlite().await;
    app.add_user("mario", Role::Operator).await;
    let id = app
        .queue_conversation("telegram", "Anna", "aiuto", None)
        .await;
    let mario = app.login("mario", PASSWORD).await;
    mario.post_form(&format!("/queue/{id}/claim"), &[]).await;
    mario
        .post_form(&format!("/conversations/{id}/reply"), &[("text", "Eccomi")])
        .await;
    let row = app
        .store
        .outbox_of(id)
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.text == "Eccomi")
        .unwrap();
    app.store
        .outbox_failed(row.id, None, "Forbidden: bot was blocked by the user", true)
        .await
        .unwrap();
    let page = mario
        .get(&format!("/conversations/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Consegna non riuscita"));
    assert!(page.contains("bot was blocked by the user"));
    let retried = mario
        .post_form(&format!("/conversations/{id}/outbox/{}/retry", row.id), &[])
        .await;
    assert_eq!(retried.status(), 303);
    let again = app
        .store
        .outbox_of(id)
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.id == row.id)
        .unwrap();
    assert_eq!(again.state, "pending");
}

#[tokio::test]
async fn teaching_the_bot_proposes_the_question_as_a_phrasing_for_editors() {
    let app = TestApp::sqlite().await;
    let id = app
        .citizen_writes(
            "telegram",
            "anna-teach",
            "come pago la tassa rifiuti?",
            vec![],
        )
        .await;
    let mut asks = sportello_core::model::Inbound::text(
        "telegram",
        "w-teach-operator",
        "anna-teach",
        "anna-teach",
        "Parla con un operatore",
    );
    asks.action = sportello_core::model::Action::RequestOperator;
    app.running().intake().receive(asks).await.unwrap();
    let admin = app.admin().await;
    let sheets: serde_json::Value = admin.get("/api/v1/sheets").await.json().await.unwrap();
    let sheet = sheets["sheets"][0]["sheet"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    admin.post_form(&format!("/queue/{id}/claim"), &[]).await;
    let page = admin
        .get(&format!("/conversations/{id}?insert={sheet}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Risposta di una scheda"));
    assert_eq!(
        admin
            .post_form(&format!("/conversations/{id}/teach"), &[("sheet", &sheet)])
            .await
            .status(),
        303
    );
    let detail: serde_json::Value = admin
        .get(&format!("/api/v1/conversations/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        detail["proposed_phrasings"][0]["text"],
        "come pago la tassa rifiuti?"
    );
    assert_eq!(detail["proposed_phrasings"][0]["state"], "pending");
    assert_eq!(detail["proposed_phrasings"][0]["sheet_id"], sheet.as_str());
}

#[tokio::test]
async fn a_reply_longer_than_the_channel_allows_is_refused_and_kept_in_the_box() {
    let app = TestApp::sqlite().await;
    app.add_user("mario", Role::Operator).await;
    let id = app.queue_conversation("x", "Anna", "aiuto", None).await;
    let mario = app.login("mario", PASSWORD).await;
    mario.post_form(&format!("/queue/{id}/claim"), &[]).await;
    let long = "parola ".repeat(50);
    let resp = mario
        .post_form(&format!("/conversations/{id}/reply"), &[("text", &long)])
        .await;
    assert_eq!(resp.status(), 422);
    let page = resp.text().await.unwrap();
    assert!(page.contains("al massimo 280"), "{page}");
    assert!(page.contains(long.trim()));
    let api = mario
        .json(
            Method::POST,
            &format!("/api/v1/conversations/{id}/reply"),
            Some(json!({ "text": long })),
        )
        .await;
    assert_eq!(api.status(), 422);
    let missing = mario
        .json(
            Method::POST,
            &format!("/api/v1/conversations/{id}/reply"),
            Some(json!({})),
        )
        .await;
    assert_eq!(missing.status(), 422);
}

#[tokio::test]
async fn the_queue_streams_an_event_when_a_conversation_arrives_on_sqlite() {
    the_queue_streams_an_event_when_a_conversation_arrives(&TestApp::sqlite().await).await;
}

#[tokio::test]
async fn the_queue_streams_an_event_when_a_conversation_arrives_on_postgres() {
    the_queue_streams_an_event_when_a_conversation_arrives(&TestApp::postgres().await).await;
}

/// A citizen's message stored by another process (here, the test's own store) reaches an open
/// queue page as an event.
async fn the_queue_streams_an_event_when_a_conversation_arrives(app: &TestApp) {
    let admin = app.admin().await;
    let mut events = admin.get("/queue/events").await;
    assert_eq!(events.status(), 200);
    assert!(
        events.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    // The server compares the queue with what it saw at its first look, which it takes
    // once the stream is open, at a moment the test cannot see: a conversation stored before
    // that look is part of it and makes no event. So instead of sleeping past it, wait for
    // the event, and if none came within a few polls, queue another conversation (each one
    // changes the queue). A server that never notices fails after every attempt.
    let mut seen = String::new();
    let mut queued = 0;
    while !seen.contains("event: queue") {
        assert!(
            queued < 5,
            "{queued} conversations and no event on the stream: {seen:?}"
        );
        app.queue_conversation("telegram", "Anna", "c'è qualcuno?", None)
            .await;
        queued += 1;
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while let Some(chunk) = events.chunk().await.unwrap() {
                seen.push_str(&String::from_utf8_lossy(&chunk));
                if seen.contains("event: queue") {
                    return;
                }
            }
        })
        .await;
    }
}

#[tokio::test]
async fn the_conversation_page_shows_attachments_what_the_bot_tried_and_earlier_conversations() {
    let app = TestApp::sqlite().await;
    let photo = sportello_core::model::Attachment {
        kind: "photo".into(),
        reference: "AgAD-file-id".into(),
        name: Some("ricevuta.jpg".into()),
        mime: Some("image/jpeg".into()),
        size: Some(48_213),
    };
    let earlier = app
        .citizen_writes("telegram", "chat-42", "buongiorno", Vec::new())
        .await;
    app.store.resolve(earlier, "test").await.unwrap();
    let id = app
        .citizen_writes(
            "telegram",
            "chat-42",
            "quanto costano le copie dei documenti per l'accesso agli atti?",
            vec![photo],
        )
        .await;
    assert_ne!(id, earlier);
    let admin = app.admin().await;
    let page = admin
        .get(&format!("/conversations/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Allegato: photo"), "{page}");
    assert!(page.contains("ricevuta.jpg") && page.contains("image/jpeg"));
    assert!(page.contains("Cosa ha provato il bot"));
    assert!(
        page.contains("Costi delle copie"),
        "candidate sheets are named"
    );
    assert!(page.contains("fiducia"));
    assert!(
        page.contains(&format!("/conversations/{earlier}")),
        "the citizen's earlier conversation"
    );
    let detail: serde_json::Value = admin
        .get(&format!("/api/v1/conversations/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(detail["candidates"][0]["title"].is_string(), "{detail}");
    assert!(detail["candidates"][0]["confidence"].is_number());
    assert_eq!(
        detail["messages"][0]["attachments"][0]["name"],
        "ricevuta.jpg"
    );
    assert_eq!(detail["other_conversations"][0]["id"], earlier);
}

#[tokio::test]
async fn a_long_queue_is_shown_a_hundred_at_a_time() {
    let app = TestApp::sqlite().await;
    for i in 0..101 {
        app.queue_conversation("telegram", &format!("Cittadino {i:03}"), "aiuto", None)
            .await;
    }
    let admin = app.admin().await;
    let first = admin.get("/queue").await.text().await.unwrap();
    assert!(first.contains("Cittadino 000") && first.contains("Cittadino 099"));
    assert!(!first.contains("Cittadino 100"));
    assert!(first.contains("page=1"), "a link to the next page");
    let second = admin.get("/queue?page=1").await.text().await.unwrap();
    assert!(second.contains("Cittadino 100") && !second.contains("Cittadino 099"));
}
