//! The console in a real browser: headless Chromium driven through chromedriver (Debian's
//! `chromium` and `chromium-driver`, which `scripts/test` installs). Screenshots of the main
//! pages are saved under `target/screenshots/` as test artifacts.

mod support;

use fantoccini::Locator;
use sportello_core::model::Role;
use support::browser::{Driver, WAIT, log_in, screenshot, text_of};
use support::{ADMIN_PASSWORD, App, PASSWORD};

#[tokio::test]
async fn an_operator_sees_a_conversation_arrive_claims_it_and_replies_and_a_second_cannot_claim_it()
{
    let app = App::sqlite().await;
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
    let id = app
        .queue_conversation(
            "telegram",
            "Anna Rossi",
            "Come rinnovo la carta d'identità?",
            None,
        )
        .await;
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
    let outbox = app.store.outbox_of(id).await.unwrap();
    assert!(
        outbox
            .iter()
            .any(|o| o.channel == "telegram" && o.text.contains("serve prenotare")),
        "{outbox:?}"
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
