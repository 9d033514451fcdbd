//! The Telegram channel end to end: the real `sportello serve` process against the Bot API
//! double, which checks every request against the contract.

mod support;

use std::time::Duration;

use sportello_doubles::telegram::Fault;
use sportello_testkit::served::Proxy;
use support::{Office, PATIENCE, buttons, eventually};

const ANNA: i64 = 1001;

#[tokio::test]
async fn a_citizen_is_welcomed_answered_and_gives_feedback() {
    let mut office = Office::new().await;
    office.start().await;
    let d = &office.double;

    d.push_text(ANNA, "Anna", "/start");
    let welcome = &office.replies(ANNA, 1).await[0];
    assert!(welcome.text.contains("Benvenuto"), "{}", welcome.text);
    assert!(welcome.text.contains("privacy"), "links the privacy notice");
    assert!(
        welcome
            .text
            .contains("dal lunedì al venerdì, dalle 9:00 alle 17:00"),
        "says the office hours"
    );
    assert_eq!(welcome.parse_mode.as_deref(), Some("HTML"));

    d.push_text(ANNA, "Anna", "come richiedo la pink card");
    let answer = office.replies(ANNA, 2).await[1].clone();
    assert!(answer.text.contains("Pink Card"), "{}", answer.text);
    let feedback = buttons(&answer);
    assert_eq!(feedback.len(), 2, "{feedback:?}");
    assert_eq!(feedback[0].0, "👍 Utile");
    assert_eq!(feedback[1].0, "👎 Non utile");

    // 👎: thanked, buttons removed, other sheets and a person offered.
    d.push_callback(ANNA, answer.message_id, &feedback[1].1);
    let offer = office.replies(ANNA, 3).await[2].clone();
    let offered = buttons(&offer);
    assert!(offer.text.contains("Mi dispiace"), "{}", offer.text);
    assert_eq!(offered.last().unwrap().1, "operator");
    assert!(
        offered
            .iter()
            .all(|(_, data)| data != "sheet:pink-card-richiesta")
    );
    eventually("the press is answered", || async {
        d.callback_answers().len() == 1
    })
    .await;
    assert_eq!(
        d.callback_answers()[0]["text"].as_str(),
        Some("Grazie per il riscontro!")
    );
    eventually("the used buttons are removed", || async {
        d.markup_edits()
            .iter()
            .any(|e| e["message_id"].as_i64() == Some(answer.message_id))
    })
    .await;

    // Choosing an offered sheet answers it, with feedback buttons again.
    let (title, data) = offered
        .iter()
        .find(|(_, d)| d.starts_with("sheet:"))
        .expect("the other candidate sheets are offered");
    d.push_callback(ANNA, offer.message_id, data);
    let chosen = office.replies(ANNA, 4).await[3].clone();
    assert!(
        !chosen.text.contains("non è più valido"),
        "{title}: {}",
        chosen.text
    );
    assert_eq!(buttons(&chosen).len(), 2, "{title}: 👍/👎 under the answer");

    let store = office.store().await;
    let kinds: Vec<String> = sqlx::query_scalar("select kind from feedback")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(kinds, ["not_useful"]);
    office.assert_no_violations();
}

#[tokio::test]
async fn an_operator_takes_over_and_the_citizen_rates_the_service() {
    let mut office = Office::new().await;
    office.start().await;
    let d = &office.double;
    let bruno = 2002;

    d.push_text(bruno, "Bruno", "/operatore");
    let handoff = office.replies(bruno, 1).await[0].clone();
    assert!(handoff.text.contains("operatore"), "{}", handoff.text);
    let store = office.store().await;
    let conv = store.conversations(None, 10).await.unwrap()[0].clone();
    assert!(
        handoff.text.contains(&format!("rif. {}", conv.id)),
        "the notice gives the reference number: {}",
        handoff.text
    );

    // While waiting, the first message hears where Bruno stands in the queue; the next ones
    // go to the operators without a bot reply each.
    d.push_text(bruno, "Bruno", "ci siete?");
    let status = office.replies(bruno, 2).await[1].clone();
    assert!(
        status.text.contains("in coda, in posizione 1"),
        "{}",
        status.text
    );
    d.push_text(bruno, "Bruno", "aspetto una risposta");
    eventually("both messages are stored", || async {
        store.messages(conv.id).await.unwrap().len() == 5
    })
    .await;
    office.no_more_than(bruno, 2).await;

    let desk = office.operator_desk().await;
    let operator = store
        .add_user(
            "giulia",
            sportello_core::model::Role::Operator,
            "pw-giulia-123",
        )
        .await
        .unwrap();
    store.claim(conv.id, operator, "giulia").await.unwrap();
    desk.operator_reply(
        conv.id,
        operator,
        "giulia",
        "Buongiorno, <b>eccomi</b> & grazie",
    )
    .await
    .unwrap();
    let reply = office.replies(bruno, 3).await[2].clone();
    assert_eq!(
        reply.text, "Buongiorno, &lt;b&gt;eccomi&lt;/b&gt; &amp; grazie",
        "operator text is escaped for HTML"
    );

    desk.resolve(conv.id, "giulia").await.unwrap();
    let rating = office.replies(bruno, 4).await[3].clone();
    let stars = buttons(&rating);
    assert_eq!(stars.len(), 5, "{stars:?}");
    d.push_callback(bruno, rating.message_id, &stars[4].1);
    eventually("the rating is thanked", || async {
        d.callback_answers()
            .iter()
            .any(|a| a["text"] == "Grazie per la valutazione!")
    })
    .await;
    let scores: Vec<i64> = sqlx::query_scalar("select score from feedback where kind = 'rating'")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(scores, [5]);
    office.assert_no_violations();
}

#[tokio::test]
async fn stale_forged_and_odd_input_is_handled_politely() {
    let mut office = Office::new().await;
    office.start().await;
    let d = &office.double;
    let chat = 3003;

    // A forged button: answered politely, nothing stored.
    d.push_text(chat, "Carla", "ciao");
    let hello = office.replies(chat, 1).await[0].clone();
    d.push_callback(chat, hello.message_id, "rate:999999:5");
    d.push_callback(chat, hello.message_id, "not-a-button");
    eventually("both presses are answered", || async {
        d.callback_answers().len() == 2
    })
    .await;
    for a in d.callback_answers() {
        assert_eq!(
            a["text"].as_str(),
            Some("Questo pulsante non è più valido. Scrivi di nuovo la tua domanda, per favore.")
        );
    }

    // An unknown update kind and a message without `from` are skipped, not stuck on.
    d.push_update(serde_json::json!({"business_message_frobnicated": {"x": 1}}));
    d.push_update(
        serde_json::json!({"message": {"message_id": 77, "date": 1, "text": "anonimo",
        "chat": {"id": chat, "type": "private", "first_name": "Carla"}}}),
    );
    // HTML in a name and a text, and 4,096 characters of emoji.
    d.push_text(chat, "<script>alert(1)</script>", "<b>orari urp</b>");
    d.push_text(chat, "Carla", &"😀".repeat(4096));
    let sent = office.replies(chat, 3).await;
    assert!(
        sent[1].text.contains("9"),
        "the URP hours answer: {}",
        sent[1].text
    );
    let store = office.store().await;
    let conv = store.conversations(None, 10).await.unwrap();
    let names: Vec<&str> = conv.iter().map(|c| c.contact_name.as_str()).collect();
    assert!(
        names.iter().all(|n| !n.contains("anonimo")),
        "the message without a sender is not stored"
    );
    let texts: Vec<String> = sqlx::query_scalar("select text from messages where direction = 'in'")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert!(
        texts.contains(&"<b>orari urp</b>".to_string()),
        "stored as written"
    );
    assert!(texts.iter().any(|t| t.chars().count() == 4096));

    // A photo and a document go to an operator with their file ids; a voice note gets a
    // polite reply.
    let photo_chat = 3004;
    d.push_update(serde_json::json!({"message": {"message_id": 5, "date": 1,
        "chat": {"id": photo_chat, "type": "private", "first_name": "Dario"},
        "from": {"id": photo_chat, "is_bot": false, "first_name": "Dario"},
        "document": {"file_id": "DOC-42", "file_unique_id": "u42", "file_name": "ricevuta.pdf",
            "mime_type": "application/pdf", "file_size": 5120}}}));
    let notice = office.replies(photo_chat, 1).await[0].clone();
    assert!(notice.text.contains("file"), "{}", notice.text);
    let attachments: Vec<Option<String>> = sqlx::query_scalar(
        "select attachments from messages where direction = 'in' and channel = 'telegram' and attachments is not null",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert!(
        attachments
            .iter()
            .flatten()
            .any(|a| a.contains("DOC-42") && a.contains("ricevuta.pdf")),
        "{attachments:?}"
    );
    let voice_chat = 3005;
    d.push_update(serde_json::json!({"message": {"message_id": 6, "date": 1,
        "chat": {"id": voice_chat, "type": "private", "first_name": "Eva"},
        "from": {"id": voice_chat, "is_bot": false, "first_name": "Eva"},
        "voice": {"file_id": "VOICE-1", "file_unique_id": "v1", "duration": 3}}}));
    let polite = office.replies(voice_chat, 1).await[0].clone();
    assert!(
        polite.text.contains("solo messaggi scritti"),
        "{}",
        polite.text
    );

    // Group chats are ignored by default.
    d.push_update(
        serde_json::json!({"message": {"message_id": 8, "date": 1, "text": "orari urp",
        "chat": {"id": -500, "type": "group", "title": "Condominio"},
        "from": {"id": 9, "is_bot": false, "first_name": "Ugo"}}}),
    );
    office.no_more_than(-500, 0).await;
    office.assert_no_violations();
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_and_a_blocked_bot_is_shown() {
    let mut office = Office::new().await;
    office.start().await;
    let d = &office.double;

    // 429 with retry_after: the next attempt waits at least that long.
    let chat = 4004;
    d.inject_for_chat(
        "sendMessage",
        chat,
        Fault::TooManyRequests { retry_after: 2 },
        1,
    );
    d.push_text(chat, "Franco", "orari urp");
    office.replies(chat, 1).await;
    let calls: Vec<_> = d
        .calls("sendMessage")
        .into_iter()
        .filter(|c| c.params["chat_id"].as_i64() == Some(chat))
        .collect();
    assert_eq!(calls.len(), 2, "one refused, one accepted");
    assert_eq!(calls[0].status, 429);
    assert!(
        calls[1].at - calls[0].at >= Duration::from_secs(2),
        "retry_after is honoured"
    );

    // A server error and a dropped connection are retried.
    let chat = 4005;
    d.inject_for_chat("sendMessage", chat, Fault::ServerError(502), 1);
    d.inject_for_chat("sendMessage", chat, Fault::Drop, 1);
    d.push_text(chat, "Gina", "orari urp");
    let sent = d.wait_sent(chat, 1, PATIENCE * 2).await;
    assert_eq!(sent.len(), 1, "delivered once after the failures");

    // 403: the citizen blocked the bot.
    let chat = 4006;
    d.inject_for_chat("sendMessage", chat, Fault::Forbidden, 1);
    d.push_text(chat, "Ivo", "orari urp");
    let store = office.store().await;
    eventually("the outbox row fails with the reason", || async {
        store.outbox_failures(10).await.unwrap().iter().any(|r| {
            r.last_error
                .as_deref()
                .is_some_and(|e| e.contains("blocked"))
        })
    })
    .await;
    let conv = store
        .conversations(None, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.thread == chat.to_string())
        .unwrap();
    assert!(conv.unreachable, "the contact is marked unreachable");
    let health = office.health().await;
    assert_eq!(health["outbox"]["failed"], 1, "{health}");
    assert!(
        health["channels"]["telegram"]["last_ok_ms"].is_i64(),
        "the last successful poll is shown: {health}"
    );

    // Several messages at once to one chat all arrive, in order, despite flood control.
    d.rate_limit(30, 1);
    let chat = 4007;
    for q in ["orari urp", "/help", "ciao", "/start"] {
        d.push_text(chat, "Lia", q);
    }
    let sent = d.wait_sent(chat, 4, PATIENCE * 2).await;
    assert_eq!(sent.len(), 4);
    assert!(
        sent[1].text.contains("Scrivi la tua domanda"),
        "/help second"
    );
    assert!(sent[3].text.contains("Benvenuto"), "/start last");
    office.assert_no_violations();
}

#[tokio::test]
async fn a_malformed_server_response_does_not_stop_the_poller() {
    let mut office = Office::new().await;
    office.double.inject("getUpdates", Fault::MalformedJson, 2);
    office.start().await;
    let chat = 5005;
    office.double.push_text(chat, "Marta", "orari urp");
    office.replies(chat, 1).await;
    assert!(
        office.logs().contains("malformed response"),
        "the failure is logged"
    );
}

/// Crash right after intake committed an update, before it was confirmed to Telegram (the
/// process aborts as a kill -9 would), or right before the commit: after a restart the
/// update is stored once and answered once.
async fn crash_and_restart(failpoint: &str) {
    let mut office = Office::new().await;
    office.env("SPORTELLO_FAILPOINT", failpoint);
    office.start().await;
    let chat = 6006;
    office.double.push_text(chat, "Nina", "orari urp");
    let status = office.wait_exit().await;
    assert!(!status.success(), "the failpoint aborted the process");
    office.env("SPORTELLO_FAILPOINT", "");
    office.start().await;
    office.replies(chat, 1).await;
    office.no_more_than(chat, 1).await;
    let store = office.store().await;
    let stored: i64 = sqlx::query_scalar(
        "select count(*) from messages where direction = 'in' and channel = 'telegram'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(stored, 1, "{failpoint}");
    // Restarting again does not repeat anything either.
    assert_eq!(office.stop(), Some(0));
    office.double.push_text(chat, "Nina", "grazie");
    office.start().await;
    office.replies(chat, 2).await;
    office.no_more_than(chat, 2).await;
    office.assert_no_violations();
}

#[tokio::test]
async fn a_crash_after_commit_before_confirming_loses_nothing_and_answers_once() {
    crash_and_restart("intake.after_commit").await;
}

#[tokio::test]
async fn a_crash_before_commit_loses_nothing_and_answers_once() {
    crash_and_restart("intake.before_commit").await;
}

#[tokio::test]
async fn webhook_mode_registers_checks_the_secret_and_answers_after_commit() {
    let mut office = Office::new().await;
    // Telegram calls a public address; here a proxy in front of the office, which binds its
    // own port at start.
    let proxy = Proxy::start().await;
    let url = format!("{}/telegram/webhook", proxy.base);
    office
        .env("SPORTELLO_TELEGRAM__MODE", "webhook")
        .env("SPORTELLO_TELEGRAM__WEBHOOK_URL", &url)
        .env("SPORTELLO_TELEGRAM__WEBHOOK_SECRET", "s3cret-hook");
    office.start().await;
    proxy.forward_to(&office.base);
    let d = &office.double;
    eventually("setWebhook is called", || async { d.webhook().is_some() }).await;
    assert_eq!(
        d.webhook(),
        Some((url.clone(), Some("s3cret-hook".to_string())))
    );
    let update = |id: i64, text: &str| {
        serde_json::json!({"update_id": id, "message": {"message_id": id, "date": 1, "text": text,
            "chat": {"id": 7007, "type": "private", "first_name": "Olga"},
            "from": {"id": 7007, "is_bot": false, "first_name": "Olga"}}})
    };
    let refused = d
        .deliver_webhook_with_secret(update(1, "orari urp"), Some("wrong"))
        .await
        .unwrap();
    assert_eq!(refused, 401);
    let missing = d
        .deliver_webhook_with_secret(update(1, "orari urp"), None)
        .await
        .unwrap();
    assert_eq!(missing, 401);
    assert!(d.sent_to(7007).is_empty());

    assert_eq!(
        d.deliver_webhook(update(2, "orari urp")).await.unwrap(),
        200
    );
    // Telegram retries a delivery it did not see answered: stored and answered once.
    assert_eq!(
        d.deliver_webhook(update(2, "orari urp")).await.unwrap(),
        200
    );
    office.replies(7007, 1).await;
    office.no_more_than(7007, 1).await;
    assert!(
        d.calls("getUpdates").is_empty(),
        "no polling in webhook mode"
    );
    office.assert_no_violations();
    // The whole log, once the process has exited and closed it.
    let (code, logs) = office.terminate();
    assert_eq!(code, Some(0), "{logs}");
    assert!(!logs.contains("s3cret-hook"), "the secret is never logged");
    assert!(!logs.contains(support::TOKEN), "the token is never logged");
}

/// A long operator reply goes out in parts. A crash after the first part was delivered
/// (and recorded with its outbox row) resends only the rest after the restart: the citizen
/// reads every part once, in order.
#[tokio::test]
async fn a_crash_between_the_parts_of_a_long_reply_sends_each_part_once() {
    let mut office = Office::new().await;
    office.env("SPORTELLO_FAILPOINT", "telegram.after_part");
    // A short lease, so that the restarted process takes the crashed send back promptly.
    office.env("SPORTELLO_DISPATCHER__LEASE_SECS", "4");
    office.start().await;
    let chat = 7007;
    office.double.push_text(chat, "Olga", "/operatore");
    office.replies(chat, 1).await;
    let store = office.store().await;
    let conv = store.conversations(None, 10).await.unwrap()[0].clone();
    let desk = office.operator_desk().await;
    let operator = store
        .add_user(
            "giulia",
            sportello_core::model::Role::Operator,
            "pw-giulia-123",
        )
        .await
        .unwrap();
    store.claim(conv.id, operator, "giulia").await.unwrap();
    // Three paragraphs of about 3,000 characters: three messages of at most 4,096.
    let reply: Vec<String> = (1..=3)
        .map(|n| format!("Parte {n}. {}", "Il modulo va compilato. ".repeat(125)))
        .collect();
    desk.operator_reply(conv.id, operator, "giulia", &reply.join("\n\n"))
        .await
        .unwrap();
    let status = office.wait_exit().await;
    assert!(!status.success(), "the failpoint aborted the process");
    let parts = |office: &Office| -> Vec<String> {
        office
            .double
            .sent_to(chat)
            .iter()
            .filter(|m| m.text.starts_with("Parte "))
            .map(|m| m.text[..7].to_string())
            .collect()
    };
    assert_eq!(
        parts(&office),
        ["Parte 1"],
        "the crash came after the first part"
    );

    office.env("SPORTELLO_FAILPOINT", "");
    office.start().await;
    eventually("the reply is recorded as delivered", || async {
        let rows = store.outbox_of(conv.id).await.unwrap();
        rows.iter().all(|r| r.state == "sent")
    })
    .await;
    assert_eq!(parts(&office), ["Parte 1", "Parte 2", "Parte 3"]);
    office.assert_no_violations();
}
