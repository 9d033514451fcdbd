//! The console in a real browser: headless Chromium driven through chromedriver (Debian's
//! `chromium` and `chromium-driver`, which `scripts/test` installs). Screenshots of the main
//! pages are saved under `target/screenshots/` as test artifacts.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::json;
use sportello_core::model::Role;
use sportello_doubles::telegram::TelegramDouble;
use sportello_testkit::axe::check_page;
use sportello_testkit::browser::{Driver, WAIT, log_in, screenshot, text_of};
use sportello_testkit::{ADMIN_PASSWORD, PASSWORD, TestApp};

const TELEGRAM_TOKEN: &str = "777:browser-test";

#[tokio::test]
async fn an_operator_sees_a_conversation_arrive_claims_it_and_replies_and_a_second_cannot_claim_it()
{
    // The citizen writes on Telegram (the Bot API double), and the reply must reach them there.
    let telegram = TelegramDouble::start(TELEGRAM_TOKEN).await;
    let api_url = telegram.api_url();
    let app = TestApp::sqlite_with(&[
        ("SPORTELLO_TELEGRAM__ENABLED", "true"),
        ("SPORTELLO_TELEGRAM__TOKEN", TELEGRAM_TOKEN),
        ("SPORTELLO_TELEGRAM__API_URL", &api_url),
        ("SPORTELLO_TELEGRAM__POLL_TIMEOUT_SECS", "1"),
        ("SPORTELLO_DISPATCHER__POLL_MS", "100"),
    ])
    .await;
    app.add_user("mario", Role::Operator).await;
    app.add_user("lucia", Role::Operator).await;
    let driver = Driver::start().await;
    let mario = driver.browser().await;
    let lucia = driver.browser().await;

    mario.goto(&format!("{}/login", app.base)).await.unwrap();
    screenshot(&mario, "login").await;
    log_in(&mario, &app, "mario", PASSWORD).await;
    assert!(
        text_of(&mario, "#queue-table")
            .await
            .contains("Nessuna conversazione")
    );
    // Wait until the page listens, then a citizen writes: the row appears without a reload.
    mario
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#queue-table[data-live=on]"))
        .await
        .expect("the queue did not open its live stream");
    let anna = 424_242;
    telegram.push_text(anna, "Anna Rossi", "/operatore");
    let notice = telegram.wait_sent(anna, 1, WAIT).await;
    assert_eq!(notice.len(), 1, "the handoff notice reaches Anna");
    let id = app
        .store
        .conversations(None, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.thread == anna.to_string())
        .expect("Anna's conversation is stored")
        .id;
    let row = format!("#conversation-{id}");
    let arrived = text_of(&mario, &row).await;
    assert!(arrived.contains("Anna Rossi"), "{arrived}");
    screenshot(&mario, "queue").await;

    // Lucia opens the same conversation before Mario takes it.
    log_in(&lucia, &app, "lucia", PASSWORD).await;
    lucia
        .goto(&format!("{}/conversations/{id}", app.base))
        .await
        .unwrap();
    let lucia_claim = lucia
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#claim-button"))
        .await
        .unwrap();

    mario
        .find(Locator::Css(&format!("{row} button")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let reply = mario
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#reply-text"))
        .await
        .unwrap();
    reply
        .send_keys("Buongiorno, serve prenotare allo sportello anagrafe.")
        .await
        .unwrap();
    screenshot(&mario, "conversation").await;
    mario
        .find(Locator::Css("#send-reply"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(
        text_of(&mario, "#notice")
            .await
            .contains("Risposta inviata")
    );
    assert!(
        text_of(&mario, "#transcript")
            .await
            .contains("serve prenotare allo sportello anagrafe")
    );
    let sent = telegram.wait_sent(anna, 2, WAIT).await;
    assert!(
        sent.iter()
            .any(|m| m.text.contains("serve prenotare allo sportello anagrafe")),
        "the reply reaches Anna on Telegram: {sent:?}"
    );
    assert!(
        telegram.violations().is_empty(),
        "{:?}",
        telegram.violations()
    );

    lucia_claim.click().await.unwrap();
    assert!(
        text_of(&lucia, "#error")
            .await
            .contains("già presa da mario")
    );
    assert!(
        lucia.find(Locator::Css("#reply-text")).await.is_err(),
        "no reply box for lucia"
    );
    lucia.goto(&format!("{}/queue", app.base)).await.unwrap();
    assert!(text_of(&lucia, &row).await.contains("già presa da mario"));

    let admin = driver.browser().await;
    log_in(&admin, &app, "admin", ADMIN_PASSWORD).await;
    admin.goto(&format!("{}/users", app.base)).await.unwrap();
    assert!(text_of(&admin, "main").await.contains("lucia"));
    screenshot(&admin, "users").await;

    for b in [mario, lucia, admin] {
        b.close().await.unwrap();
    }
}

/// Wait until the element's text contains `needle` (the deadline only keeps a broken build
/// from hanging); its text.
async fn wait_for_text(browser: &Client, css: &str, needle: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(e) = browser.find(Locator::Css(css)).await
            && let Ok(text) = e.text().await
            && text.contains(needle)
        {
            return text;
        }
        assert!(Instant::now() < deadline, "{css} never showed {needle:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn click(browser: &Client, css: &str) {
    browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_citizen_asks_in_the_web_chat_presses_buttons_asks_for_a_person_and_sees_the_reply_arrive_live()
 {
    let app = TestApp::sqlite().await;
    app.add_user("mario", Role::Operator).await;
    let token = app
        .store
        .create_token("mario", Role::Operator)
        .await
        .unwrap();
    let driver = Driver::start().await;
    let citizen = driver.browser().await;

    citizen.goto(&format!("{}/chat", app.base)).await.unwrap();
    assert!(text_of(&citizen, "h1").await.contains("Scrivi all'URP"));
    citizen
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#transcript[data-live=on]"))
        .await
        .expect("the chat did not open its live stream");

    let label = citizen
        .find(Locator::Css("label[for=chat-text]"))
        .await
        .unwrap();
    assert_eq!(label.text().await.unwrap(), "Il tuo messaggio");
    citizen
        .find(Locator::Css("#chat-text"))
        .await
        .unwrap()
        .send_keys("orari urp")
        .await
        .unwrap();
    click(&citizen, "#chat-send").await;
    wait_for_text(&citizen, "#transcript li.bubble-citizen", "orari urp").await;
    let answer = wait_for_text(
        &citizen,
        "#transcript li.bubble-bot[data-id]",
        "aperto al pubblico",
    )
    .await;
    assert!(
        answer.contains("👍 Utile") && answer.contains("👎 Non utile"),
        "{answer}"
    );

    click(&citizen, "#transcript button[data-data$=':n']").await;
    wait_for_text(&citizen, "#chat-notice", "Grazie per il riscontro").await;
    click(&citizen, "#transcript button[data-data=operator]").await;
    wait_for_text(&citizen, "#transcript li:last-child", "operatore").await;

    // The page shows the press at once; the handoff is stored when the server answers it.
    let deadline = std::time::Instant::now() + WAIT;
    let id = loop {
        let queued = app
            .store
            .conversations(Some(sportello_core::model::ConversationStatus::Queued), 10)
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.channel == "webchat");
        if let Some(c) = queued {
            break c.id;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the chat is in the queue"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let api = reqwest::Client::new();
    for (path, body) in [
        ("claim", json!({})),
        (
            "reply",
            json!({ "text": "Buongiorno, sono Mario dell'URP: la richiamo io." }),
        ),
    ] {
        let r = api
            .post(format!("{}/api/v1/conversations/{id}/{path}", app.base))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }
    let reply = wait_for_text(
        &citizen,
        "#transcript li.bubble-operator",
        "sono Mario dell'URP",
    )
    .await;
    assert!(reply.starts_with("Operatore"), "{reply}");
    // Tall enough to show the whole conversation.
    citizen.set_window_size(1280, 2400).await.unwrap();
    screenshot(&citizen, "chat").await;
    citizen.close().await.unwrap();
}

async fn say(browser: &Client, text: &str) {
    let box_ = browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#chat-text"))
        .await
        .unwrap();
    box_.send_keys(text).await.unwrap();
    click(browser, "#chat-send").await;
}

#[tokio::test]
async fn a_citizen_waiting_in_the_queue_hears_where_they_stand_and_gets_automatic_answers() {
    let app = TestApp::sqlite().await;
    let driver = Driver::start().await;
    let citizen = driver.browser().await;
    citizen.goto(&format!("{}/chat", app.base)).await.unwrap();
    citizen
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#transcript[data-live=on]"))
        .await
        .expect("the chat did not open its live stream");

    say(&citizen, "vorrei parlare con un operatore").await;
    wait_for_text(
        &citizen,
        "#transcript li:last-child",
        "passo la conversazione",
    )
    .await;
    say(&citizen, "ci siete?").await;
    let status = wait_for_text(&citizen, "#transcript li:last-child", "in coda").await;
    assert!(status.contains("in posizione 1"), "{status}");
    assert!(status.contains("dal lunedì al venerdì"), "{status}");

    say(&citizen, "Che orari fa l'URP?").await;
    let answer = wait_for_text(&citizen, "#transcript li:last-child", "Risposta automatica").await;
    assert!(answer.contains("aperto al pubblico"), "{answer}");
    let queued = app
        .store
        .conversations(Some(sportello_core::model::ConversationStatus::Queued), 10)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1, "the conversation stays in the queue");
    screenshot(&citizen, "chat-waiting").await;
    citizen.close().await.unwrap();
}

#[tokio::test]
async fn a_citizen_leaves_an_email_for_the_reply_and_the_operator_sees_it_and_whether_the_chat_is_open()
 {
    let app = TestApp::sqlite().await;
    let driver = Driver::start().await;
    let citizen = driver.browser().await;
    citizen.goto(&format!("{}/chat", app.base)).await.unwrap();
    citizen
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#transcript[data-live=on]"))
        .await
        .expect("the chat did not open its live stream");
    say(&citizen, "vorrei parlare con un operatore").await;
    wait_for_text(
        &citizen,
        "#transcript li:last-child",
        "passo la conversazione",
    )
    .await;

    click(&citizen, "#chat-reach summary").await;
    let notice = text_of(&citizen, "#reach-notice").await;
    assert!(notice.contains("informativa privacy"), "{notice}");
    citizen
        .find(Locator::Css("#reach-email"))
        .await
        .unwrap()
        .send_keys("anna.rossi@example.it")
        .await
        .unwrap();
    click(&citizen, "#reach-consent").await;
    click(&citizen, "#reach-save").await;
    wait_for_text(&citizen, "#chat-notice", "Grazie").await;
    screenshot(&citizen, "chat-reach").await;

    let id = app
        .store
        .conversations(Some(sportello_core::model::ConversationStatus::Queued), 10)
        .await
        .unwrap()[0]
        .id;
    let admin = driver.browser().await;
    log_in(&admin, &app, "admin", ADMIN_PASSWORD).await;
    admin
        .goto(&format!("{}/conversations/{id}", app.base))
        .await
        .unwrap();
    assert!(
        text_of(&admin, "#citizen-reach")
            .await
            .contains("anna.rossi@example.it")
    );
    assert!(text_of(&admin, "#citizen-online").await.starts_with("sì"));

    // The citizen closes the chat: the operator sees it on the next look.
    citizen.close().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        admin
            .goto(&format!("{}/conversations/{id}", app.base))
            .await
            .unwrap();
        if text_of(&admin, "#citizen-online").await.starts_with("no") {
            break;
        }
        assert!(Instant::now() < deadline, "the citizen never went offline");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    admin.close().await.unwrap();
}

#[tokio::test]
async fn a_citizen_keeps_the_personal_link_and_comes_back_to_the_conversation_in_another_browser() {
    let app = TestApp::sqlite().await;
    let driver = Driver::start().await;
    let citizen = driver.browser().await;
    citizen.goto(&format!("{}/chat", app.base)).await.unwrap();
    citizen
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#transcript[data-live=on]"))
        .await
        .expect("the chat did not open its live stream");
    say(&citizen, "vorrei parlare con un operatore").await;
    wait_for_text(
        &citizen,
        "#transcript li:last-child",
        "passo la conversazione",
    )
    .await;
    click(&citizen, "#chat-resume summary").await;
    let notice = text_of(&citizen, "#resume-notice").await;
    assert!(notice.contains("Conserva questo link"), "{notice}");
    let link = citizen
        .find(Locator::Css("#resume-link"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .expect("the link is in the box");
    assert!(
        link.starts_with(&format!("{}/chat/resume/", app.base)),
        "{link}"
    );
    citizen.close().await.unwrap();

    // Another browser, with no cookie of the chat: the link brings the conversation back.
    let again = driver.browser().await;
    again.goto(&link).await.unwrap();
    assert_eq!(again.current_url().await.unwrap().path(), "/chat");
    wait_for_text(&again, "#transcript", "vorrei parlare con un operatore").await;
    again
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#transcript[data-live=on]"))
        .await
        .expect("the chat did not open its live stream");
    check_page(&again, "chat-resumed").await;
    say(&again, "sono tornato").await;
    wait_for_text(&again, "#transcript", "sono tornato").await;
    let queued = app
        .store
        .conversations(Some(sportello_core::model::ConversationStatus::Queued), 10)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1, "still the one conversation");

    // An altered link: a page that says so.
    let altered = link.replacen("/chat/resume/w", "/chat/resume/w0", 1);
    again.goto(&altered).await.unwrap();
    let message = text_of(&again, "#resume-refused").await;
    assert!(message.contains("non è valido"), "{message}");
    check_page(&again, "chat-resume-invalid").await;
    again.close().await.unwrap();
}
