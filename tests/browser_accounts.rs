//! Accounts and the pages' conformance in a real browser (headless Chromium through
//! chromedriver): a password reset by an admin and changed by its user, two-factor login,
//! and every console page and the citizen chat checked with axe-core at desktop and phone
//! width, each one's screenshots saved under `target/screenshots/`.

use fantoccini::{Client, Locator};
use sportello_core::model::Role;
use sportello_core::store::totp_code;
use sportello_testkit::axe::check_page;
use sportello_testkit::browser::{Driver, WAIT, log_in, screenshot_of, text_of};
use sportello_testkit::{ADMIN_PASSWORD, PASSWORD, TestApp};

async fn click(b: &Client, css: &str) {
    b.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn fill(b: &Client, css: &str, text: &str) {
    let e = b
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

/// Submit the login form without waiting for a page behind it.
async fn submit_login(b: &Client, app: &TestApp, name: &str, password: &str) {
    b.goto(&format!("{}/login", app.base)).await.unwrap();
    fill(b, "#username", name).await;
    fill(b, "#password", password).await;
    click(b, "button[type=submit]").await;
}

async fn path_of(b: &Client) -> String {
    b.current_url().await.unwrap().path().to_string()
}

async fn log_out(b: &Client) {
    click(b, ".who button[type=submit]").await;
    b.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#username"))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_admin_resets_a_password_the_operator_must_change_it_at_next_login_and_then_changes_it_from_the_profile()
 {
    let app = TestApp::sqlite().await;
    app.add_user("mario", Role::Operator).await;
    let driver = Driver::start().await;
    let admin = driver.browser().await;
    let mario = driver.browser().await;

    log_in(&mario, &app, "mario", PASSWORD).await;
    log_in(&admin, &app, "admin", ADMIN_PASSWORD).await;
    admin.goto(&format!("{}/users", app.base)).await.unwrap();
    click(&admin, "#reset-mario").await;
    let temporary = text_of(&admin, "#temporary-password").await;
    assert_eq!(temporary.trim().len(), 16, "{temporary}");
    assert!(
        text_of(&admin, "main")
            .await
            .contains("password da cambiare")
    );

    // The reset ended Mario's session, and his old password no longer works.
    mario.goto(&format!("{}/queue", app.base)).await.unwrap();
    assert_eq!(path_of(&mario).await, "/login");
    submit_login(&mario, &app, "mario", PASSWORD).await;
    assert!(
        text_of(&mario, "#login-error")
            .await
            .contains("non corretti")
    );

    // With the temporary one he reaches only the page to choose a new one.
    log_in(&mario, &app, "mario", temporary.trim()).await;
    assert_eq!(path_of(&mario).await, "/account/password");
    assert!(
        text_of(&mario, "#must-change")
            .await
            .contains("reimpostata")
    );
    check_page(&mario, "password-change").await;
    mario.goto(&format!("{}/queue", app.base)).await.unwrap();
    assert_eq!(path_of(&mario).await, "/account/password");

    fill(&mario, "#current", temporary.trim()).await;
    fill(&mario, "#new", "la nuova password di mario").await;
    fill(&mario, "#confirm", "la nuova password di mario").await;
    click(&mario, "#change-password").await;
    assert!(
        text_of(&mario, "#notice")
            .await
            .contains("Password cambiata")
    );
    mario.goto(&format!("{}/queue", app.base)).await.unwrap();
    assert_eq!(path_of(&mario).await, "/queue");

    // From the profile: the current password is required, and the name for citizens is his.
    mario.goto(&format!("{}/account", app.base)).await.unwrap();
    fill(&mario, "#current", "non è questa").await;
    fill(&mario, "#new", "un'altra password ancora").await;
    fill(&mario, "#confirm", "un'altra password ancora").await;
    click(&mario, "#change-password").await;
    assert!(
        text_of(&mario, "#error")
            .await
            .contains("password attuale non è corretta")
    );
    fill(&mario, "#display-name", "Mario dell'URP").await;
    click(&mario, "#save-name").await;
    assert!(
        text_of(&mario, "#notice")
            .await
            .contains("Nome per i cittadini")
    );
    check_page(&mario, "account").await;

    log_out(&mario).await;
    log_in(&mario, &app, "mario", "la nuova password di mario").await;
    assert_eq!(path_of(&mario).await, "/queue");
    admin.goto(&format!("{}/users", app.base)).await.unwrap();
    assert!(text_of(&admin, "main").await.contains("Mario dell'URP"));

    for b in [admin, mario] {
        b.close().await.unwrap();
    }
}

#[tokio::test]
async fn an_admin_turns_on_two_factor_login_and_then_logs_in_with_a_code_or_a_recovery_code() {
    let app = TestApp::sqlite().await;
    let driver = Driver::start().await;
    let admin = driver.browser().await;
    log_in(&admin, &app, "admin", ADMIN_PASSWORD).await;
    admin.goto(&format!("{}/account", app.base)).await.unwrap();
    click(&admin, "#begin-two-factor").await;
    let secret = text_of(&admin, "#totp-secret").await;
    check_page(&admin, "two-factor-setup").await;
    let now = (app.store.now_ms() / 1000) as u64;
    fill(&admin, "#totp-code", &totp_code(&secret, now).unwrap()).await;
    click(&admin, "#confirm-two-factor").await;
    let codes = text_of(&admin, "#recovery-codes").await;
    let codes: Vec<&str> = codes.lines().map(str::trim).collect();
    assert_eq!(codes.len(), 10, "{codes:?}");
    assert!(
        text_of(&admin, "#two-factor-state")
            .await
            .contains("Attivo")
    );

    // The password alone now leads to the code page, which grants nothing by itself.
    log_out(&admin).await;
    submit_login(&admin, &app, "admin", ADMIN_PASSWORD).await;
    admin
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#code"))
        .await
        .unwrap();
    assert_eq!(path_of(&admin).await, "/login/code");
    check_page(&admin, "login-code").await;
    admin.goto(&format!("{}/users", app.base)).await.unwrap();
    assert_eq!(path_of(&admin).await, "/login");
    admin
        .goto(&format!("{}/login/code", app.base))
        .await
        .unwrap();
    fill(&admin, "#code", "123456").await;
    click(&admin, "button[type=submit]").await;
    assert!(
        text_of(&admin, "#login-error")
            .await
            .contains("Codice non corretto")
    );
    fill(&admin, "#code", codes[0]).await;
    click(&admin, "button[type=submit]").await;
    admin
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(".who"))
        .await
        .unwrap();

    // Next time, the app's code (of the coming step: the one that confirmed was used).
    log_out(&admin).await;
    submit_login(&admin, &app, "admin", ADMIN_PASSWORD).await;
    let later = (app.store.now_ms() / 1000) as u64 + 30;
    fill(&admin, "#code", &totp_code(&secret, later).unwrap()).await;
    click(&admin, "button[type=submit]").await;
    admin
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(".who"))
        .await
        .unwrap();
    admin.goto(&format!("{}/account", app.base)).await.unwrap();
    assert!(
        text_of(&admin, "#two-factor-state")
            .await
            .contains("ancora validi: 9")
    );
    admin.close().await.unwrap();
}

#[tokio::test]
async fn every_console_page_and_the_chat_have_no_serious_accessibility_problems_at_desktop_and_phone_width()
 {
    let app = TestApp::sqlite().await;
    let id = app
        .queue_conversation(
            "telegram",
            "Anna Rossi",
            "Vorrei sapere come rinnovare la carta d'identità",
            None,
        )
        .await;
    app.citizen_writes("webchat", "chat-1", "orari urp", Vec::new())
        .await;
    let driver = Driver::start().await;
    let b = driver.browser().await;

    b.goto(&format!("{}/login", app.base)).await.unwrap();
    assert!(
        text_of(&b, "header")
            .await
            .contains("Città metropolitana di Milano")
    );
    let footer = text_of(&b, "footer").await;
    for link in [
        "Informativa privacy",
        "Note legali",
        "Dichiarazione di accessibilità",
    ] {
        assert!(footer.contains(link), "{footer}");
    }
    // Titillium Web is served and used.
    let font = reqwest::get(format!("{}/assets/titillium-web-400.woff2", app.base))
        .await
        .unwrap();
    assert_eq!(font.headers()["content-type"], "font/woff2");
    let loaded = b
        .execute(
            "return document.fonts.ready.then(() => document.fonts.check('16px \"Titillium Web\"'));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(loaded, serde_json::Value::Bool(true));
    check_page(&b, "login").await;

    // The chat with a conversation in it: the citizen's question and the bot's answer.
    b.goto(&format!("{}/chat", app.base)).await.unwrap();
    fill(&b, "#chat-text", "orari urp").await;
    click(&b, "#chat-send").await;
    b.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#transcript li.bubble-bot[data-id]"))
        .await
        .unwrap();
    assert!(
        text_of(&b, "header")
            .await
            .contains("Città metropolitana di Milano")
    );
    assert!(
        text_of(&b, "footer")
            .await
            .contains("Dichiarazione di accessibilità")
    );
    check_page(&b, "chat").await;

    log_in(&b, &app, "admin", ADMIN_PASSWORD).await;
    // A sheet whose full text has a Markdown list.
    let sheet = "accesso-atti-costi-copie";
    for (path, name) in [
        ("/queue".to_string(), "queue"),
        (format!("/conversations/{id}"), "conversation"),
        ("/sheets".to_string(), "sheets"),
        ("/sheets/new".to_string(), "sheet-new"),
        (format!("/sheets/{sheet}"), "sheet"),
        ("/sheets/learn".to_string(), "learn"),
        ("/stats".to_string(), "stats"),
        ("/users".to_string(), "users"),
        ("/audit".to_string(), "audit"),
        ("/account".to_string(), "profile"),
    ] {
        b.goto(&format!("{}{path}", app.base)).await.unwrap();
        b.wait()
            .at_most(WAIT)
            .for_element(Locator::Css("main h1"))
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        check_page(&b, name).await;
    }
    // The sheet's preview: one tab per channel; the web chat's shows the chat's bubble, the
    // email's the full text rendered from Markdown, as the email's HTML part.
    b.goto(&format!("{}/sheets/{sheet}", app.base))
        .await
        .unwrap();
    click(&b, "#preview-webchat-tab").await;
    let bubble = b
        .find(Locator::Css("#preview-webchat .bubble"))
        .await
        .unwrap();
    assert!(bubble.is_displayed().await.unwrap());
    assert!(bubble.text().await.unwrap().starts_with("Assistente"));
    let email = b.find(Locator::Css("#preview-email")).await.unwrap();
    assert!(!email.is_displayed().await.unwrap(), "one tab at a time");
    click(&b, "#preview-email-tab").await;
    let item = text_of(&b, "#preview-email .email-body li").await;
    assert!(item.contains("Legge 7 agosto 1990"), "{item}");
    assert!(!text_of(&b, "#preview-email").await.contains("- Legge"));
    let cost = text_of(&b, "#preview-email .email-body table").await;
    assert!(cost.contains("Copia su carta A4"), "{cost}");
    check_page(&b, "sheet-preview-email").await;
    screenshot_of(&b, "#preview", "sheet-preview-email-panel").await;
    click(&b, "#preview-webchat-tab").await;
    screenshot_of(&b, "#preview", "sheet-preview-webchat-panel").await;

    // Dates read the Italian way.
    b.goto(&format!("{}/users", app.base)).await.unwrap();
    let created = text_of(&b, "main table time").await;
    assert!(
        created.len() == 16 && created.as_bytes()[2] == b'/' && created.as_bytes()[5] == b'/',
        "{created}"
    );
    b.close().await.unwrap();
}
