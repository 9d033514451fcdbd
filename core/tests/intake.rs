//! Intake on both backends: dedupe, conversations, outcomes, acknowledgements, odd text.

use std::sync::Arc;

use sportello_core::intake::Receipt;
use sportello_core::model::{Action, ConversationStatus, Inbound};
use sportello_core::testing::{TestDb, pipeline, text};
use sportello_faq::DecisionKind;

fn stored(r: &Receipt) -> (i64, i64, DecisionKind, usize) {
    match r {
        Receipt::Stored {
            conversation_id,
            message_id,
            decision,
            replies,
        } => (*conversation_id, *message_id, *decision, *replies),
        other => panic!("expected a stored message, got {other:?}"),
    }
}

#[tokio::test]
async fn a_message_delivered_twice_is_stored_once_and_the_cursor_advances() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        let mut m = text("1", "alice", "ciao");
        m.cursor = Some("101".into());
        let first = intake.receive(m.clone()).await.unwrap();
        let (_, message_id, _, _) = stored(&first);
        m.cursor = Some("102".into());
        let again = intake.receive(m).await.unwrap();
        assert_eq!(again, Receipt::Duplicate { message_id }, "{}", db.backend);
        assert_eq!(
            store.message_count().await.unwrap(),
            2,
            "one inbound and one reply on {}",
            db.backend
        );
        assert_eq!(
            store.cursor("mem").await.unwrap().as_deref(),
            Some("102"),
            "{}",
            db.backend
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_of_one_message_store_it_once() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        let mut tasks = Vec::new();
        for _ in 0..24 {
            let intake = Arc::clone(&intake);
            tasks.push(tokio::spawn(async move {
                intake.receive(text("same", "bob", "operatore")).await
            }));
        }
        let mut stored_n = 0;
        let mut duplicates = 0;
        for t in tasks {
            match t.await.unwrap().unwrap() {
                Receipt::Stored { .. } => stored_n += 1,
                Receipt::Duplicate { .. } => duplicates += 1,
                other => panic!("a text message gave {other:?}"),
            }
        }
        assert_eq!((stored_n, duplicates), (1, 23), "{}", db.backend);
        let convs = store.conversations(None, 10).await.unwrap();
        assert_eq!(convs.len(), 1, "{}", db.backend);
        let msgs = store.messages(convs[0].id).await.unwrap();
        assert_eq!(
            msgs.iter().filter(|m| m.direction == "in").count(),
            1,
            "{}",
            db.backend
        );
        assert_eq!(
            msgs.iter().filter(|m| m.direction == "out").count(),
            1,
            "one handoff notice on {}",
            db.backend
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_messages_of_one_thread_share_one_conversation() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        let mut tasks = Vec::new();
        for i in 0..16 {
            let intake = Arc::clone(&intake);
            tasks.push(tokio::spawn(async move {
                intake
                    .receive(text(&format!("m{i}"), "carla", "ciao"))
                    .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let convs = store.conversations(None, 10).await.unwrap();
        assert_eq!(convs.len(), 1, "{}", db.backend);
        let inbound = store
            .messages(convs[0].id)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.direction == "in")
            .count();
        assert_eq!(inbound, 16, "{}", db.backend);
    }
}

#[tokio::test]
async fn a_chosen_sheet_is_answered_with_its_summary_link_and_office() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        let mut m = text("1", "dora", "Pink Card");
        m.action = Action::ChooseSheet("pink-card".into());
        let (conv, _, decision, replies) = stored(&intake.receive(m).await.unwrap());
        assert_eq!(
            (decision, replies),
            (DecisionKind::Answer, 1),
            "{}",
            db.backend
        );
        let rows = store.outbox_of(conv).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert!(
            rows[0].text.starts_with("La Pink Card è una carta"),
            "{}",
            rows[0].text
        );
        assert!(rows[0].text.contains("https://example.org/pink-card"));
        assert!(rows[0].text.contains("URP (800 000 000, urp@example.org)"));
        assert_eq!(rows[0].state, "pending");
        let linked: i64 = sqlx::query_scalar(
            "select count(*) from outbox o join messages m on m.id = o.message_id \
             where m.text = o.text and m.author = 'bot' and m.direction = 'out'",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(
            linked, 1,
            "the outbox row points at its bot message on {}",
            db.backend
        );
        assert_eq!(
            store.conversation(conv).await.unwrap().status,
            ConversationStatus::Bot
        );
    }
}

#[tokio::test]
async fn a_stale_choice_gets_a_polite_reply_and_no_answer() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        let mut m = text("1", "ed", "");
        m.action = Action::ChooseSheet("no-such-sheet".into());
        let (conv, message, decision, replies) = stored(&intake.receive(m).await.unwrap());
        assert_eq!(
            (decision, replies),
            (DecisionKind::Smalltalk, 1),
            "{}",
            db.backend
        );
        let msgs = store.messages(conv).await.unwrap();
        let inbound = msgs.iter().find(|m| m.id == message).unwrap();
        assert_eq!(inbound.reason.as_deref(), Some("unknown_choice"));
    }
}

#[tokio::test]
async fn a_queued_citizen_hears_where_they_stand_once_gets_marked_automatic_answers_and_silence_once_assigned()
 {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        // Someone else is already waiting.
        stored(&intake.receive(text("0", "bea", "operatore")).await.unwrap());
        let (conv, _, decision, replies) = stored(
            &intake
                .receive(text("1", "fede", "voglio parlare con un operatore"))
                .await
                .unwrap(),
        );
        assert_eq!(
            (decision, replies),
            (DecisionKind::Handoff, 1),
            "{}",
            db.backend
        );
        let c = store.conversation(conv).await.unwrap();
        assert_eq!(c.status, ConversationStatus::Queued);
        assert!(c.escalated_at.is_some());
        let notice = &store.outbox_of(conv).await.unwrap()[0].text;
        assert!(
            notice.contains(&format!("rif. {conv}")),
            "the notice names the reference: {notice}"
        );

        // The first message while waiting: where the citizen stands.
        let (_, _, decision, replies) = stored(
            &intake
                .receive(text("x0", "fede", "ci siete?"))
                .await
                .unwrap(),
        );
        assert_eq!((decision, replies), (DecisionKind::Handoff, 1));
        let status = store.outbox_of(conv).await.unwrap().pop().unwrap().text;
        assert!(
            status.contains(&format!("(rif. {conv}) è in coda, in posizione 2")),
            "{status} on {}",
            db.backend
        );
        // A clear question: the sheet's answer, marked as automatic; still in the queue.
        let (_, _, decision, replies) = stored(
            &intake
                .receive(text("x1", "fede", "come funziona Pink Card"))
                .await
                .unwrap(),
        );
        assert_eq!((decision, replies), (DecisionKind::Answer, 1));
        let answer = store.outbox_of(conv).await.unwrap().pop().unwrap().text;
        assert!(answer.starts_with("Risposta automatica"), "{answer}");
        assert!(answer.contains("carta di sconti"), "{answer}");
        assert!(
            !answer.contains("in coda, in posizione"),
            "told once: {answer}"
        );
        assert_eq!(
            store.conversation(conv).await.unwrap().status,
            ConversationStatus::Queued
        );
        // Anything else while waiting: no more words from the bot.
        let (_, _, decision, replies) =
            stored(&intake.receive(text("x2", "fede", "allora?")).await.unwrap());
        assert_eq!(
            (decision, replies),
            (DecisionKind::Handoff, 0),
            "{}",
            db.backend
        );

        // Once an operator holds it, the bot stays silent.
        let op = store
            .add_user("op1", sportello_core::model::Role::Operator, "password-1")
            .await
            .unwrap();
        store.claim(conv, op, "op1").await.unwrap();
        for (i, body) in ["ciao", "come funziona Pink Card"].iter().enumerate() {
            let (_, _, decision, replies) = stored(
                &intake
                    .receive(text(&format!("y{i}"), "fede", body))
                    .await
                    .unwrap(),
            );
            assert_eq!((decision, replies), (DecisionKind::Handoff, 0), "{body}");
        }
        let msgs = store.messages(conv).await.unwrap();
        assert_eq!(
            msgs.iter().filter(|m| m.author == "bot").count(),
            3,
            "{}",
            db.backend
        );
        assert!(
            msgs.iter()
                .filter(|m| m.direction == "in")
                .skip(4)
                .all(|m| m.reason.as_deref() == Some("with_operator"))
        );
    }
}

#[tokio::test]
async fn an_out_of_hours_handoff_says_when_the_office_reopens() {
    // Saturday 28 November 2026, 10:00 in Rome (UTC+1).
    let saturday =
        sportello_core::calendar::days_from_civil(2026, 11, 28) * 86_400_000 + 9 * 3_600_000;
    for db in TestDb::both().await {
        let store = sportello_core::store::Store::connect_with_clock(
            &db.url,
            8,
            std::time::Duration::from_secs(10),
            sportello_core::clock::Clock::starting_at(saturday),
        )
        .await
        .unwrap();
        store.migrate().await.unwrap();
        let (intake, _) = pipeline(&store).await;
        let (conv, ..) = stored(&intake.receive(text("1", "ivo", "operatore")).await.unwrap());
        let notice = store.outbox_of(conv).await.unwrap().pop().unwrap().text;
        assert!(
            notice.contains("Ora l'ufficio è chiuso e riapre lunedì 30/11 alle 9:00."),
            "{notice} on {}",
            db.backend
        );
        stored(&intake.receive(text("2", "ivo", "ci siete?")).await.unwrap());
        let status = store.outbox_of(conv).await.unwrap().pop().unwrap().text;
        assert!(status.contains("in posizione 1"), "{status}");
        assert!(status.contains("riapre lunedì 30/11 alle 9:00"), "{status}");
    }
}

#[tokio::test]
async fn an_operator_claimed_bot_conversation_acknowledges_the_citizen_once() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        let (conv, ..) = stored(&intake.receive(text("1", "gina", "ciao")).await.unwrap());
        let op = store
            .add_user("op1", sportello_core::model::Role::Operator, "password-1")
            .await
            .unwrap();
        store.claim(conv, op, "op1").await.unwrap();
        let (_, _, _, first) = stored(&intake.receive(text("2", "gina", "ci sei?")).await.unwrap());
        let (_, _, _, second) =
            stored(&intake.receive(text("3", "gina", "allora?")).await.unwrap());
        assert_eq!((first, second), (1, 0), "{}", db.backend);
        let ack = store.outbox_of(conv).await.unwrap().pop().unwrap().text;
        assert!(ack.contains("un operatore ti risponderà"), "{ack}");
    }
}

#[tokio::test]
async fn a_message_after_resolution_starts_a_new_conversation_with_the_bot() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        let (first, ..) = stored(&intake.receive(text("1", "ivo", "operatore")).await.unwrap());
        store.resolve(first, "op").await.unwrap();
        assert_eq!(
            store.conversation(first).await.unwrap().status,
            ConversationStatus::Resolved
        );
        let (second, _, decision, _) =
            stored(&intake.receive(text("2", "ivo", "ciao")).await.unwrap());
        assert_ne!(first, second, "{}", db.backend);
        assert_eq!(decision, DecisionKind::Smalltalk);
        assert_eq!(
            store.conversation(second).await.unwrap().status,
            ConversationStatus::Bot
        );
    }
}

#[tokio::test]
async fn a_sheet_that_needs_an_operator_hands_over_even_when_chosen() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        let mut m = text("1", "lia", "Reclami");
        m.action = Action::ChooseSheet("reclami".into());
        let (conv, _, decision, _) = stored(&intake.receive(m).await.unwrap());
        assert_eq!(decision, DecisionKind::Handoff, "{}", db.backend);
        assert_eq!(
            store.conversation(conv).await.unwrap().status,
            ConversationStatus::Queued
        );
        assert!(
            store.outbox_of(conv).await.unwrap()[0]
                .text
                .contains("\"Reclami\"")
        );
    }
}

#[tokio::test]
async fn odd_text_is_stored_intact() {
    let long: String = "perché "
        .repeat(100_000 / 7 + 1)
        .chars()
        .take(100_000)
        .collect();
    let cases: Vec<(&str, Inbound)> = vec![
        ("long", text("long", "u1", &long)),
        ("nul", text("nul", "u2", "a\0b\0c")),
        ("rtl", text("rtl", "u3", "مرحبا \u{202e}abc\u{202c} שלום")),
        ("emoji", text("emoji", "u4", "👍🏽👨‍👩‍👧 🇮🇹 carta rosa?")),
        (
            "html",
            text("html", "u5", "<script>alert('x')</script> & <b>"),
        ),
        (
            "bytes",
            text("bytes", "u6", "").with_bytes(b"caf\xe9 \xff\xfe ok"),
        ),
    ];
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        for (name, inbound) in &cases {
            let (conv, message_id, ..) = stored(&intake.receive(inbound.clone()).await.unwrap());
            let msg = store
                .messages(conv)
                .await
                .unwrap()
                .into_iter()
                .find(|m| m.id == message_id)
                .unwrap();
            let original: Vec<u8> = inbound
                .raw
                .clone()
                .unwrap_or_else(|| inbound.text.as_bytes().to_vec());
            let kept = msg
                .raw
                .clone()
                .unwrap_or_else(|| msg.text.as_bytes().to_vec());
            assert_eq!(kept, original, "{name} on {}", db.backend);
            assert!(
                msg.decision.is_some(),
                "{name} got an outcome on {}",
                db.backend
            );
        }
        assert_eq!(
            store
                .messages(
                    store
                        .conversations(None, 100)
                        .await
                        .unwrap()
                        .iter()
                        .find(|c| c.contact == "u1")
                        .unwrap()
                        .id
                )
                .await
                .unwrap()[0]
                .text
                .chars()
                .count(),
            100_000
        );
    }
}

#[tokio::test]
async fn a_nul_in_a_name_a_subject_or_an_attachment_is_stored_as_a_visible_sign() {
    // PostgreSQL text cannot hold U+0000: before the mapping, this message failed to store
    // there (and only there).
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        let mut m = text("nul-meta", "u\0x", "ciao\0");
        m.sender.display_name = "Anna\0Rossi".into();
        m.subject = Some("Oggetto\0".into());
        m.attachments = vec![sportello_core::model::Attachment {
            kind: "document".into(),
            reference: "ref\0".into(),
            name: Some("a\0.pdf".into()),
            mime: None,
            size: None,
        }];
        m.action = Action::RequestOperator;
        let (conv, ..) = stored(&intake.receive(m.clone()).await.unwrap());
        let c = store.conversation(conv).await.unwrap();
        assert_eq!(c.contact_name, "Anna\u{2400}Rossi", "{}", db.backend);
        assert_eq!(c.contact, "u\u{2400}x");
        assert_eq!(c.subject.as_deref(), Some("Oggetto\u{2400}"));
        let again = intake.receive(m).await.unwrap();
        assert!(
            matches!(again, Receipt::Duplicate { .. }),
            "the same message is recognised again on {}: {again:?}",
            db.backend
        );
    }
}

#[tokio::test]
async fn messages_with_and_without_a_confidence_share_one_connection() {
    // Regression: a NULL confidence first prepared the statement with the wrong float type on
    // PostgreSQL, and every later message with a confidence failed on that connection.
    for db in TestDb::both().await {
        let store =
            sportello_core::store::Store::connect(&db.url, 1, std::time::Duration::from_secs(10))
                .await
                .unwrap();
        store.migrate().await.unwrap();
        let (intake, _) = pipeline(&store).await;
        let mut first = text("1", "nina", "");
        first.action = Action::RequestOperator;
        intake.receive(first).await.unwrap();
        for (i, body) in ["ciao", "come funziona Pink Card", "passo carraio"]
            .iter()
            .enumerate()
        {
            intake
                .receive(text(&format!("m{i}"), &format!("other{i}"), body))
                .await
                .unwrap();
        }
        let with_confidence: i64 = sqlx::query_scalar(
            "select count(*) from messages where direction = 'in' and confidence is not null",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(with_confidence, 3, "{}", db.backend);
    }
}

#[tokio::test]
async fn ok_perfetto_va_bene_and_grazie_mille_alone_never_queue_a_conversation() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        let (conv, ..) = stored(
            &intake
                .receive(text("1", "ugo", "come funziona Pink Card"))
                .await
                .unwrap(),
        );
        for (i, body) in ["ok", "perfetto", "va bene", "grazie mille"]
            .iter()
            .enumerate()
        {
            let (same, _, decision, replies) = stored(
                &intake
                    .receive(text(&format!("s{i}"), "ugo", body))
                    .await
                    .unwrap(),
            );
            assert_eq!(same, conv);
            assert_eq!(
                (decision, replies),
                (DecisionKind::Smalltalk, 1),
                "{body} on {}",
                db.backend
            );
        }
        let c = store.conversation(conv).await.unwrap();
        assert_eq!(c.status, ConversationStatus::Bot, "{}", db.backend);
        assert!(c.escalated_at.is_none());
    }
}

#[tokio::test]
async fn an_operator_reply_also_goes_by_email_to_a_web_chat_citizen_who_left_an_address_and_is_not_connected()
 {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        intake.register("webchat", sportello_core::channel::ChannelCaps::default());
        let op = store
            .add_user("op1", sportello_core::model::Role::Operator, "password-1")
            .await
            .unwrap();
        let reply_count = |conv: i64| {
            let store = store.clone();
            async move {
                let rows: Vec<(String, String)> = sqlx::query_as(
                    "select recipient, text from outbox where conversation_id = $1 and channel = 'email' order by id",
                )
                .bind(conv)
                .fetch_all(store.pool())
                .await
                .unwrap();
                rows
            }
        };
        let open = |who: &'static str| {
            let intake = intake.clone();
            let store = store.clone();
            async move {
                let inbound = Inbound::text("webchat", format!("{who}-1"), who, who, "operatore");
                let (conv, ..) = stored(&intake.receive(inbound).await.unwrap());
                store.claim(conv, op, "op1").await.unwrap();
                conv
            }
        };

        // Email not running here: the reply waits in the chat.
        let conv = open("wa").await;
        store
            .set_reach("webchat", "wa", "A", "anna@example.it", None)
            .await
            .unwrap();
        intake
            .operator_reply(conv, op, "op1", "Eccomi")
            .await
            .unwrap();
        assert!(reply_count(conv).await.is_empty(), "{}", db.backend);

        intake.activate("email");
        intake
            .operator_reply(conv, op, "op1", "Le scrivo")
            .await
            .unwrap();
        let sent = reply_count(conv).await;
        assert_eq!(sent.len(), 1, "{}", db.backend);
        assert_eq!(sent[0].0, "anna@example.it");
        assert!(sent[0].1.contains(&format!("rif. {conv}")) && sent[0].1.ends_with("Le scrivo"));
        // The chat shows the reply once.
        let chat = store.transcript("webchat", "wa", 50).await.unwrap();
        assert_eq!(chat.iter().filter(|e| e.text == "Le scrivo").count(), 1);

        // Connected: the chat is enough. No address: nothing to send.
        let now = store.now_ms();
        store
            .set_online_until("webchat", "wa", now + 60_000)
            .await
            .unwrap();
        intake
            .operator_reply(conv, op, "op1", "Ci sei?")
            .await
            .unwrap();
        assert_eq!(reply_count(conv).await.len(), 1);
        let other = open("wb").await;
        intake
            .operator_reply(other, op, "op1", "Salve")
            .await
            .unwrap();
        assert!(reply_count(other).await.is_empty());
    }
}

#[tokio::test]
async fn the_email_copy_of_an_operator_reply_carries_the_citizens_link_back_to_the_chat() {
    use sportello_core::resume::{PATH, ResumeKey, ResumeLinks};
    for db in TestDb::both().await {
        let store = db.store().await;
        store
            .sync_offices(&sportello_core::testing::offices())
            .await
            .unwrap();
        let matcher = sportello_faq::Matcher::new(
            &sportello_core::testing::sheets(),
            &sportello_faq::Synonyms::default(),
            sportello_faq::MatcherParams::default(),
        );
        let policy = Arc::new(sportello_core::policy::Policy::new(
            matcher,
            &sportello_core::testing::offices(),
            sportello_core::config::Texts::default(),
        ));
        let key = ResumeKey::load(&store).await.unwrap();
        let intake = sportello_core::intake::Intake::new(
            store.clone(),
            policy,
            Arc::new(sportello_core::health::Health::new(store.clock())),
        )
        .with_resume_links(ResumeLinks::new(key.clone(), 30, "https://urp.example.it/"));
        intake.register("webchat", sportello_core::channel::ChannelCaps::default());
        intake.activate("email");
        let op = store
            .add_user("op1", sportello_core::model::Role::Operator, "password-1")
            .await
            .unwrap();
        let thread = "w0123456789abcdef0123456789abcdef";
        let inbound = Inbound::text("webchat", "m-1", thread, thread, "operatore");
        let (conv, ..) = stored(&intake.receive(inbound).await.unwrap());
        store.claim(conv, op, "op1").await.unwrap();
        store
            .set_reach("webchat", thread, "A", "anna@example.it", None)
            .await
            .unwrap();
        intake
            .operator_reply(conv, op, "op1", "Le scrivo")
            .await
            .unwrap();
        let body: String = sqlx::query_scalar(
            "select text from outbox where conversation_id = $1 and channel = 'email'",
        )
        .bind(conv)
        .fetch_one(store.pool())
        .await
        .unwrap();
        let prefix = format!("https://urp.example.it{PATH}");
        let at = body.find(&prefix).unwrap_or_else(|| panic!("{body}"));
        let token = body[at + prefix.len()..].split_whitespace().next().unwrap();
        assert!(
            body.contains("Le scrivo") && body.contains("30 giorni"),
            "{body}"
        );
        assert_eq!(
            key.verify(token, store.now_ms()).as_deref(),
            Ok(thread),
            "{}",
            db.backend
        );
    }
}
