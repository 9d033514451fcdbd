//! The operator's console in a real browser (headless Chromium through chromedriver): the
//! pinned reply box with insertions that keep what was typed and keyboard shortcuts, the
//! queue's views and search, and a transfer to another office's queue.

use std::time::Instant;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client, Locator};
use sportello_core::model::{Action, Inbound, Role};
use sportello_doubles::telegram::TelegramDouble;
use sportello_testkit::browser::{Driver, WAIT, log_in, screenshot, text_of};
use sportello_testkit::{PASSWORD, TestApp};

/// Press and release one key, as a person at the keyboard would.
async fn press(browser: &Client, key: char) {
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    browser.perform_actions(keys).await.unwrap();
}

/// Run a script that returns a value.
async fn eval(browser: &Client, script: &str) -> serde_json::Value {
    browser.execute(script, vec![]).await.unwrap()
}

/// Wait until `script` returns true.
async fn until(browser: &Client, script: &str) {
    let deadline = Instant::now() + WAIT;
    while eval(browser, script).await != serde_json::Value::Bool(true) {
        assert!(Instant::now() < deadline, "never true: {script}");
        tokio::task::yield_now().await;
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

/// A citizen asks for a person on Telegram, then keeps writing: a long conversation.
async fn long_conversation(app: &TestApp, thread: &str, name: &str, messages: usize) -> i64 {
    let intake = app.running().intake();
    let mut first = Inbound::text(
        "telegram",
        format!("{thread}-0"),
        thread,
        thread,
        "Parla con un operatore",
    );
    first.sender.display_name = name.into();
    first.action = Action::RequestOperator;
    intake.receive(first).await.unwrap();
    for n in 1..=messages {
        let mut more = Inbound::text(
            "telegram",
            format!("{thread}-{n}"),
            thread,
            thread,
            format!("Aggiungo un dettaglio, il numero {n}, sulla mia pratica."),
        );
        more.sender.display_name = name.into();
        intake.receive(more).await.unwrap();
    }
    app.store
        .conversations(None, 50)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.thread == thread)
        .unwrap()
        .id
}

#[tokio::test]
async fn the_reply_box_stays_in_view_inserts_without_losing_text_and_answers_to_the_keyboard() {
    let app = TestApp::sqlite().await;
    app.add_user("mario", Role::Operator).await;
    let id = long_conversation(&app, "anna", "Anna Rossi", 30).await;
    let next = app
        .queue_conversation("telegram", "Bruno", "Parla con un operatore", None)
        .await;
    let driver = Driver::start().await;
    let b = driver.browser().await;
    log_in(&b, &app, "mario", PASSWORD).await;
    b.goto(&format!("{}/conversations/{id}", app.base))
        .await
        .unwrap();

    // C claims; the page comes back at the latest message, not at the top.
    press(&b, 'c').await;
    b.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#reply-text"))
        .await
        .unwrap();
    assert!(text_of(&b, "#notice").await.contains("presa in carico"));
    assert!(b.current_url().await.unwrap().as_str().ends_with("#latest"));
    assert!(eval(&b, "return window.scrollY").await.as_f64().unwrap() > 0.0);

    // The page is several screens tall, and the reply box is in view at the top and the end.
    assert_eq!(
        eval(
            &b,
            "return document.documentElement.scrollHeight > 2 * window.innerHeight"
        )
        .await,
        true
    );
    for at in ["0", "document.documentElement.scrollHeight / 2"] {
        let place = eval(
            &b,
            &format!(
                "window.scrollTo(0, {at}); var r = document.getElementById('reply').getBoundingClientRect(); \
                 return [r.top, r.bottom, window.innerHeight];"
            ),
        )
        .await;
        let [top, bottom, height] = [0, 1, 2].map(|i| place[i].as_f64().unwrap());
        assert!(
            top >= 0.0 && bottom <= height + 1.0,
            "the reply box is out of view at {at}: {place}"
        );
    }
    screenshot(&b, "operator-reply-box").await;

    // What the operator typed stays when a canned reply and a sheet's answer are inserted,
    // and the page is not reloaded (a value set on the page survives).
    let typed = "Gentile signora, ";
    b.find(Locator::Css("#reply-text"))
        .await
        .unwrap()
        .send_keys(typed)
        .await
        .unwrap();
    eval(&b, "window.notReloaded = true; return null").await;
    click(&b, "#insert-canned").await;
    until(
        &b,
        "return document.getElementById('reply-text').value.includes('grazie per averci scritto')",
    )
    .await;
    let value = eval(&b, "return document.getElementById('reply-text').value").await;
    let value = value.as_str().unwrap();
    assert!(value.starts_with(typed), "{value}");
    assert!(
        value.contains("Buongiorno Anna Rossi,"),
        "{{nome}} is filled: {value}"
    );
    assert!(
        value.contains(&format!("rif. {id}")),
        "{{rif}} is filled: {value}"
    );
    let before = value.len();
    click(&b, "#insert-sheet").await;
    until(
        &b,
        &format!("return document.getElementById('reply-text').value.length > {before}"),
    )
    .await;
    assert_eq!(eval(&b, "return window.notReloaded === true").await, true);

    // Ctrl+Enter sends.
    b.find(Locator::Css("#reply-text"))
        .await
        .unwrap()
        .send_keys("\u{E009}\u{E007}\u{E000}")
        .await
        .unwrap();
    assert!(text_of(&b, "#notice").await.contains("Risposta inviata"));
    assert!(b.current_url().await.unwrap().as_str().ends_with("#latest"));
    let sent = app.store.outbox_of(id).await.unwrap();
    assert!(
        sent.iter()
            .any(|o| o.text.starts_with(typed) && o.text.contains("Anna Rossi")),
        "{sent:?}"
    );

    // N opens the next conversation waiting in the queue.
    b.find(Locator::Css("h1"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    press(&b, 'n').await;
    until(
        &b,
        &format!("return location.pathname === '/conversations/{next}'"),
    )
    .await;
    b.close().await.unwrap();
}

#[tokio::test]
async fn the_queue_shows_why_each_waits_and_filters_by_view_and_search() {
    let app = TestApp::sqlite().await;
    app.add_user("mario", Role::Operator).await;
    let anna = app
        .queue_conversation("telegram", "Anna Rossi", "Parla con un operatore", None)
        .await;
    let bruno = app
        .citizen_writes(
            "webchat",
            "bruno",
            "Come segnalo una buca su una strada provinciale?",
            vec![],
        )
        .await;
    let driver = Driver::start().await;
    let b = driver.browser().await;
    log_in(&b, &app, "mario", PASSWORD).await;
    b.goto(&format!("{}/queue", app.base)).await.unwrap();
    click(&b, &format!("#conversation-{anna} button")).await;
    b.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#reply-text"))
        .await
        .unwrap();
    b.goto(&format!("{}/queue", app.base)).await.unwrap();

    let views = text_of(&b, "#queue-views").await;
    for label in ["Mie 1", "Da assegnare 1", "Tutte 2"] {
        assert!(views.contains(label), "{views}");
    }
    let row = text_of(&b, &format!("#conversation-{bruno}")).await;
    assert!(row.contains("Come segnalo una buca"), "{row}");
    assert!(
        row.contains("Motivo: la scheda richiede un operatore"),
        "{row}"
    );
    assert!(row.contains("Settore Strade e Viabilità"), "{row}");
    assert!(row.contains("in orario d'ufficio"), "{row}");
    screenshot(&b, "operator-queue").await;

    click(&b, "#view-mine").await;
    until(&b, "return location.search === '?view=mine'").await;
    assert!(
        b.find(Locator::Css(&format!("#conversation-{anna}")))
            .await
            .is_ok()
    );
    assert!(
        b.find(Locator::Css(&format!("#conversation-{bruno}")))
            .await
            .is_err()
    );

    click(&b, "#view-all").await;
    b.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(&format!("#conversation-{bruno}")))
        .await
        .unwrap();
    b.find(Locator::Css("#f-q"))
        .await
        .unwrap()
        .send_keys("buca\u{E007}")
        .await
        .unwrap();
    until(&b, "return location.search.includes('q=buca')").await;
    assert!(
        b.find(Locator::Css(&format!("#conversation-{bruno}")))
            .await
            .is_ok()
    );
    assert!(
        b.find(Locator::Css(&format!("#conversation-{anna}")))
            .await
            .is_err()
    );
    b.close().await.unwrap();
}

#[tokio::test]
async fn transferring_moves_the_conversation_to_the_other_office_queue_and_tells_the_citizen() {
    const TOKEN: &str = "778:browser-transfer";
    let telegram = TelegramDouble::start(TOKEN).await;
    let api_url = telegram.api_url();
    let app = TestApp::sqlite_with(&[
        ("SPORTELLO_TELEGRAM__ENABLED", "true"),
        ("SPORTELLO_TELEGRAM__TOKEN", TOKEN),
        ("SPORTELLO_TELEGRAM__API_URL", &api_url),
        ("SPORTELLO_TELEGRAM__POLL_TIMEOUT_SECS", "1"),
        ("SPORTELLO_DISPATCHER__POLL_MS", "100"),
    ])
    .await;
    let mario = app.add_user("mario", Role::Operator).await;
    let lucia = app.add_user("lucia", Role::Operator).await;
    app.store
        .set_user_offices(mario, &["urp".into()], "admin")
        .await
        .unwrap();
    app.store
        .set_user_offices(lucia, &["viabilita".into()], "admin")
        .await
        .unwrap();
    let anna = 515_151;
    telegram.push_text(anna, "Anna Rossi", "/operatore");
    telegram.wait_sent(anna, 1, WAIT).await;
    let id = app
        .store
        .conversations(None, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.thread == anna.to_string())
        .unwrap()
        .id;

    let driver = Driver::start().await;
    let m = driver.browser().await;
    log_in(&m, &app, "mario", PASSWORD).await;
    m.goto(&format!("{}/conversations/{id}", app.base))
        .await
        .unwrap();
    click(&m, "#claim-button").await;
    // The claimed page, with the reply box only its holder sees: the page of the form below.
    m.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#reply-text"))
        .await
        .unwrap();
    // No office is chosen in advance.
    let chosen = eval(&m, "return document.getElementById('office').value").await;
    assert_eq!(chosen, "");
    m.find(Locator::Css("#office"))
        .await
        .unwrap()
        .select_by_value("viabilita")
        .await
        .unwrap();
    click(&m, "#transfer-button").await;
    let notice = text_of(&m, "#notice").await;
    assert!(notice.contains("Conversazione trasferita"), "{notice}");
    assert!(notice.contains("Nessuna email"), "{notice}");
    assert!(
        m.current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("#transfer-title")
    );
    assert!(text_of(&m, "#status").await.contains("in attesa"));
    assert!(
        text_of(&m, "#office-name")
            .await
            .contains("Strade e Viabilità")
    );
    assert!(
        m.find(Locator::Css("#reply-text")).await.is_err(),
        "Mario no longer holds it"
    );
    screenshot(&m, "operator-transfer").await;

    // The citizen reads one sentence saying where the request went.
    let sent = telegram.wait_sent(anna, 2, WAIT).await;
    let told = &sent[1].text;
    assert!(told.contains("Settore Strade e Viabilità"), "{told}");
    assert!(told.contains(&format!("rif. {id}")), "{told}");

    // It waits in the roads office's queue, not in the URP's.
    let l = driver.browser().await;
    log_in(&l, &app, "lucia", PASSWORD).await;
    l.goto(&format!("{}/queue?view=unassigned", app.base))
        .await
        .unwrap();
    assert!(
        text_of(&l, &format!("#conversation-{id}"))
            .await
            .contains("Anna Rossi")
    );
    m.goto(&format!("{}/queue?view=unassigned", app.base))
        .await
        .unwrap();
    assert!(
        m.find(Locator::Css(&format!("#conversation-{id}")))
            .await
            .is_err()
    );
    for b in [m, l] {
        b.close().await.unwrap();
    }
}
