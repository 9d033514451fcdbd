//! Accounts over HTTP, on both backends: a reset password confines its user to the page
//! that changes it (and the API refuses their session, not their tokens); the second step
//! of a two-factor login grants nothing before its code and needs its CSRF token.

use reqwest::Method;
use sportello_core::model::Role;
use sportello_core::store::totp_code;
use sportello_testkit::{ADMIN_PASSWORD, PASSWORD, TestApp, client};

/// The text of the element with this id in a page (a flat element: no markup inside).
fn element_text(page: &str, id: &str) -> String {
    let start = page
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no #{id} in {page}"));
    let rest = &page[start..];
    let open = rest.find('>').unwrap() + 1;
    rest[open..open + rest[open..].find('<').unwrap()].to_string()
}

fn location(resp: &reqwest::Response) -> &str {
    resp.headers()["location"].to_str().unwrap()
}

async fn reset_password_confines_the_user_until_they_change_it(app: TestApp) {
    let mario = app.add_user("mario", Role::Operator).await;
    let admin = app.admin().await;
    let resp = admin
        .post_form(&format!("/users/{mario}/password"), &[])
        .await;
    assert_eq!(resp.status(), 200);
    let temporary = element_text(&resp.text().await.unwrap(), "temporary-password");
    assert!(
        app.store
            .verify_password("mario", PASSWORD)
            .await
            .unwrap()
            .is_none()
    );

    let m = app.login("mario", &temporary).await;
    let queue = m.get("/queue").await;
    assert_eq!(queue.status(), 303);
    assert_eq!(location(&queue), "/account/password");
    let api = m.json(Method::GET, "/api/v1/conversations", None).await;
    assert_eq!(api.status(), 403);
    let body: serde_json::Value = api.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("password"),
        "{body}"
    );
    // An operator's own forms are refused before anything else, too.
    let forbidden = m.post_form(&format!("/users/{mario}/password"), &[]).await;
    assert_eq!(forbidden.status(), 303);

    // API tokens are not sessions: the reset does not stop them.
    let token = app
        .store
        .create_token("mario", Role::Operator)
        .await
        .unwrap();
    let with_token = client()
        .get(format!("{}/api/v1/conversations", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), 200);

    let mismatch = m
        .post_form(
            "/account/password",
            &[
                ("current", &temporary),
                ("new", "nuova password"),
                ("confirm", "altra password"),
            ],
        )
        .await;
    assert_eq!(mismatch.status(), 422);
    assert!(mismatch.text().await.unwrap().contains("non coincidono"));
    let changed = m
        .post_form(
            "/account/password",
            &[
                ("current", &temporary),
                ("new", "nuova password"),
                ("confirm", "nuova password"),
            ],
        )
        .await;
    assert_eq!(changed.status(), 200);
    assert_eq!(m.get("/queue").await.status(), 200);
    // An operator may not reset anyone's password.
    let admin_id = app.store.active_user_id("admin").await.unwrap().unwrap();
    let refused = m
        .post_form(&format!("/users/{admin_id}/password"), &[])
        .await;
    assert_eq!(refused.status(), 403);
}

#[tokio::test]
async fn a_reset_password_confines_its_user_to_changing_it_on_sqlite() {
    reset_password_confines_the_user_until_they_change_it(TestApp::sqlite().await).await;
}

#[tokio::test]
async fn a_reset_password_confines_its_user_to_changing_it_on_postgres() {
    reset_password_confines_the_user_until_they_change_it(TestApp::postgres().await).await;
}

#[tokio::test]
async fn the_second_step_of_a_two_factor_login_grants_nothing_before_its_code() {
    let app = TestApp::sqlite().await;
    let admin = app.admin().await;
    let setup = admin.post_form("/account/two-factor", &[]).await;
    assert_eq!(setup.status(), 200);
    let secret = element_text(&setup.text().await.unwrap(), "totp-secret");
    let now = (app.store.now_ms() / 1000) as u64;
    let on = admin
        .post_form(
            "/account/two-factor/confirm",
            &[("code", &totp_code(&secret, now).unwrap())],
        )
        .await;
    let page = on.text().await.unwrap();
    let start = page.find(r#"id="recovery-codes""#).unwrap();
    let recovery = page[start..]
        .split("<li>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap()
        .to_string();

    let c = client();
    let login = c
        .post(format!("{}/login", app.base))
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&login), "/login/code");
    let queue = c.get(format!("{}/queue", app.base)).send().await.unwrap();
    assert_eq!(
        location(&queue),
        "/login",
        "the password alone grants nothing"
    );
    let no_csrf = c
        .post(format!("{}/login/code", app.base))
        .form(&[("code", recovery.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), 403);
    let form = c
        .get(format!("{}/login/code", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = form.find(r#"name="csrf" value=""#).unwrap() + r#"name="csrf" value=""#.len();
    let csrf = &form[at..at + form[at..].find('"').unwrap()];
    let done = c
        .post(format!("{}/login/code", app.base))
        .form(&[("code", recovery.as_str()), ("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&done), "/");
    let queue = c.get(format!("{}/queue", app.base)).send().await.unwrap();
    assert_eq!(queue.status(), 200);

    // Two-factor login is for admins.
    app.add_user("mario", Role::Operator).await;
    let m = app.login("mario", PASSWORD).await;
    assert_eq!(m.post_form("/account/two-factor", &[]).await.status(), 403);
}
