//! The editor's flow in a real browser, with the bot running on the Telegram double: a sheet
//! edited as a draft, "try a question" showing the draft's effect, publishing, the bot then
//! answering with the new text, and an earlier revision restored.

use std::time::Duration;

use fantoccini::{Client, Locator};
use sportello_core::model::Role;
use sportello_doubles::telegram::TelegramDouble;
use sportello_testkit::browser::{Driver, WAIT, log_in, screenshot, text_of};
use sportello_testkit::{PASSWORD, TestApp};

const TOKEN: &str = "123456:TEST-token-never-logged";
const ID: &str = "albo-pretorio-online";
const NEW_TEXT: &str = "L'albo pretorio online ha una nuova pagina: NUOVO TESTO DI PROVA.";
const NEW_QUESTION: &str = "come si disinfesta dalla zanzara tigre";
const PATIENCE: Duration = Duration::from_secs(20);

async fn click(b: &Client, css: &str) {
    b.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn type_into(b: &Client, css: &str, text: &str, clear: bool) {
    let e = b
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap();
    if clear {
        e.clear().await.unwrap();
    }
    e.send_keys(text).await.unwrap();
}

/// A citizen asks on Telegram; the text of the bot's first reply.
async fn ask(double: &TelegramDouble, chat: i64, text: &str) -> String {
    double.push_text(chat, "Anna", text);
    let sent = double.wait_sent(chat, 1, PATIENCE).await;
    assert!(!sent.is_empty(), "the bot did not answer {text:?}");
    sent[0].text.clone()
}

#[tokio::test]
async fn an_editor_drafts_tries_and_publishes_a_sheet_the_bot_then_uses_and_restores_a_revision() {
    let double = TelegramDouble::start(TOKEN).await;
    let api = double.api_url();
    let app = TestApp::sqlite_with(&[
        ("SPORTELLO_TELEGRAM__ENABLED", "true"),
        ("SPORTELLO_TELEGRAM__TOKEN", TOKEN),
        ("SPORTELLO_TELEGRAM__API_URL", &api),
        ("SPORTELLO_TELEGRAM__POLL_TIMEOUT_SECS", "1"),
        ("SPORTELLO_DISPATCHER__POLL_MS", "100"),
    ])
    .await;
    app.add_user("elena", Role::Editor).await;
    let driver = Driver::start().await;
    let b = driver.browser().await;
    log_in(&b, &app, "elena", PASSWORD).await;

    b.goto(&format!("{}/sheets?q=albo", app.base))
        .await
        .unwrap();
    click(&b, &format!("a[href='/sheets/{ID}']")).await;
    type_into(&b, "#summary", NEW_TEXT, true).await;
    type_into(&b, "#questions", &format!("\n{NEW_QUESTION}"), false).await;
    click(&b, "button[value=draft]").await;
    assert!(
        text_of(&b, "#sheet-status")
            .await
            .contains("modifiche in bozza")
    );
    assert!(
        text_of(&b, "#rev-2").await.contains("(bozza)"),
        "the draft save is revision 2"
    );

    let before = ask(&double, 101, "dove trovo l'albo pretorio").await;
    assert!(
        !before.contains("NUOVO TESTO"),
        "a draft is not used by the bot: {before}"
    );

    type_into(&b, "#try_text", NEW_QUESTION, false).await;
    let draft = text_of(&b, "#try-result .outcome:nth-child(2)").await;
    let published = text_of(&b, "#try-result .outcome:nth-child(1)").await;
    assert!(
        draft.contains("risponde con una scheda") && draft.contains(ID),
        "{draft}"
    );
    assert!(
        !published.contains("risponde con una scheda"),
        "{published}"
    );
    screenshot(&b, "sheet-try").await;

    click(&b, "button[value=publish]").await;
    b.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#rev-3"))
        .await
        .unwrap();
    assert!(!text_of(&b, "#sheet-status").await.contains("bozza"));
    let after = ask(&double, 102, "dove trovo l'albo pretorio").await;
    assert!(
        after.contains("NUOVO TESTO DI PROVA"),
        "the bot uses the published text: {after}"
    );
    assert!(
        text_of(&b, "#rev-3").await.contains("in uso dal bot"),
        "the published revision is the one in use"
    );
    assert!(
        text_of(&b, "#rev-2").await.contains("NUOVO TESTO"),
        "the diff shows the change"
    );
    screenshot(&b, "sheet-revisions").await;

    click(&b, "#rev-1 form button").await;
    b.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#rev-4"))
        .await
        .unwrap();
    assert!(!text_of(&b, "#summary").await.contains("NUOVO TESTO"));
    let restored = ask(&double, 103, "dove trovo l'albo pretorio").await;
    assert!(
        !restored.contains("NUOVO TESTO"),
        "the restored text is back: {restored}"
    );
    assert!(restored.contains("bacheca ufficiale"), "{restored}");
    b.close().await.unwrap();
}
