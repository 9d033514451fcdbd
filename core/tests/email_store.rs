//! What the email channel keeps on both backends: attachments stored once, the threads of
//! received and sent Message-IDs, the daily count of automatic replies, and quiet mail that
//! is stored and queued without any reply.

use sportello_core::intake::Receipt;
use sportello_core::model::{Action, Inbound};
use sportello_core::store::NewEmailAttachment;
use sportello_core::testing::{TestDb, pipeline};
use sportello_faq::DecisionKind;

fn mail(id: &str, who: &str, thread: &str, body: &str) -> Inbound {
    let mut m = Inbound::text("email", id, who, thread, body);
    m.subject = Some("Pink card".into());
    m
}

#[tokio::test]
async fn attachments_are_stored_once_with_or_without_their_bytes() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let rows = vec![
            NewEmailAttachment {
                name: Some("modulo.pdf".into()),
                mime: Some("application/pdf".into()),
                size: 4,
                data: Some(vec![0, 1, 2, 255]),
                note: None,
            },
            NewEmailAttachment {
                name: Some("grande.bin".into()),
                mime: None,
                size: 30_000_000,
                data: None,
                note: Some("oltre il limite".into()),
            },
        ];
        let ids = store.email_save_attachments("m1@x", &rows).await.unwrap();
        let again = store.email_save_attachments("m1@x", &rows).await.unwrap();
        assert_eq!(
            ids, again,
            "{}: a redelivery keeps the first copy",
            db.backend
        );
        let first = store.email_attachment(ids[0]).await.unwrap().unwrap();
        assert_eq!(first.data, Some(vec![0, 1, 2, 255]));
        assert_eq!(first.name.as_deref(), Some("modulo.pdf"));
        let second = store.email_attachment(ids[1]).await.unwrap().unwrap();
        assert_eq!((second.size, second.data), (30_000_000, None));
        assert_eq!(second.note.as_deref(), Some("oltre il limite"));
        assert!(
            store
                .email_attachment(ids[1] + 100)
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn received_and_sent_message_ids_name_their_thread() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        let who = "mario@example.org";
        let thread = "mario@example.org|pink card";
        let receipt = intake
            .receive(mail(
                "q1@example.org",
                who,
                thread,
                "come funziona Pink Card",
            ))
            .await
            .unwrap();
        assert!(
            matches!(
                receipt,
                Receipt::Stored {
                    decision: DecisionKind::Answer,
                    replies: 1,
                    ..
                }
            ),
            "{receipt:?}"
        );
        // The answer's feedback token: one per answered message, naming it.
        let token = store
            .email_feedback_token("q1@example.org")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            store.email_feedback_token("q1@example.org").await.unwrap(),
            Some(token.clone())
        );
        let (message, contact, judged_thread) =
            store.email_feedback_target(&token).await.unwrap().unwrap();
        assert_eq!((contact.as_str(), judged_thread.as_str()), (who, thread));
        assert!(message > 0);
        assert_eq!(store.email_feedback_target("nope").await.unwrap(), None);
        let unknown = vec!["nobody@x".to_string()];
        assert_eq!(store.email_thread_of(&unknown).await.unwrap(), None);
        let unanswered = intake
            .receive(mail("q2@example.org", "x@example.org", "x|", "ciao"))
            .await
            .unwrap();
        assert!(matches!(unanswered, Receipt::Stored { .. }));
        assert_eq!(
            store.email_feedback_token("q2@example.org").await.unwrap(),
            None
        );
        let refs = vec!["nobody@x".to_string(), "q1@example.org".to_string()];
        assert_eq!(
            store.email_thread_of(&refs).await.unwrap().as_deref(),
            Some(thread),
            "{}",
            db.backend
        );
        let claimed = store
            .claim_outbox(&["email".to_string()], 10, 60_000)
            .await
            .unwrap();
        let row = claimed
            .iter()
            .find(|r| r.recipient == "mario@example.org")
            .expect("the answer to mario is due");
        assert!(
            store
                .outbox_sent(row.id, row.lease, Some("sportello.1@comune.test"))
                .await
                .unwrap()
        );
        let sent = vec!["sportello.1@comune.test".to_string()];
        assert_eq!(
            store.email_thread_of(&sent).await.unwrap().as_deref(),
            Some(thread)
        );
        assert_eq!(
            store
                .email_outbox_of("sportello.1@comune.test")
                .await
                .unwrap(),
            Some(row.id)
        );
        assert!(store.email_outbox_is_bot(row.id).await.unwrap());
        assert_eq!(store.email_auto_replies_since(who, 0).await.unwrap(), 1);
        let later = store.now_ms() + 1;
        assert_eq!(store.email_auto_replies_since(who, later).await.unwrap(), 0);
    }
}

#[tokio::test]
async fn quiet_mail_is_queued_for_operators_without_any_reply() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        for (n, text) in ["Sono fuori ufficio", "Sono ancora fuori ufficio"]
            .iter()
            .enumerate()
        {
            let mut m = mail(
                &format!("auto{n}@x"),
                "away@example.org",
                "away|pink card",
                text,
            );
            m.action = Action::Quiet;
            let receipt = intake.receive(m).await.unwrap();
            assert!(
                matches!(receipt, Receipt::Stored { replies: 0, .. }),
                "{}: {receipt:?}",
                db.backend
            );
        }
        let outbox: i64 = sqlx::query_scalar("select count(*) from outbox")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(
            outbox, 0,
            "{}: never answered, not even acknowledged",
            db.backend
        );
        let status: String = sqlx::query_scalar("select status from conversations")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(status, "queued", "shown to operators");
    }
}
