//! The console's security, over HTTP: escaping of everything citizens and editors write,
//! CSRF, roles on every route, session fixation, login throttling, secrets kept out of logs.

use reqwest::Method;
use serde_json::json;
use sportello_core::model::Role;
use sportello_testkit::served::Runs;
use sportello_testkit::{ADMIN_PASSWORD, PASSWORD, TestApp, client, login_at};

const SCRIPT: &str = "<script>alert('x')</script>";
const IMG: &str = "<img src=x onerror=alert(1)>";

fn assert_escaped(page: &str, what: &str) {
    assert!(!page.contains(SCRIPT), "{what}: a raw <script> from input");
    assert!(!page.contains(IMG), "{what}: a raw <img> from input");
    assert!(
        page.contains("&lt;script&gt;") || page.contains("&lt;img"),
        "{what}: input not shown escaped"
    );
}

#[tokio::test]
async fn script_and_html_from_citizens_and_editors_are_shown_escaped_on_sqlite() {
    script_and_html_are_shown_escaped(&TestApp::sqlite().await).await;
}

#[tokio::test]
async fn script_and_html_from_citizens_and_editors_are_shown_escaped_on_postgres() {
    script_and_html_are_shown_escaped(&TestApp::postgres().await).await;
}

/// Names, texts, email subjects and sheet fields come back as text, never as markup.
async fn script_and_html_are_shown_escaped(app: &TestApp) {
    let name = format!("Mallory {SCRIPT}");
    let text = format!("Salve {IMG} {SCRIPT}");
    let subject = format!("\"><{SCRIPT}");
    let id = app
        .queue_conversation("email", &name, &text, Some(&subject))
        .await;
    let admin = app.admin().await;
    let sheet = json!({ "id": "xss", "title": format!("Titolo {SCRIPT}"), "summary": format!("Riassunto {IMG}") });
    assert_eq!(
        admin
            .json(Method::POST, "/api/v1/sheets", Some(sheet))
            .await
            .status(),
        201
    );

    let queue = admin.get("/queue").await.text().await.unwrap();
    assert_escaped(&queue, "queue");
    assert!(queue.contains("Mallory &lt;script&gt;"));
    assert_escaped(
        &admin.get("/queue/table").await.text().await.unwrap(),
        "queue table",
    );
    let page = admin
        .get(&format!("/conversations/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert_escaped(&page, "conversation");
    admin.post_form(&format!("/queue/{id}/claim"), &[]).await;
    let filled = admin
        .get(&format!("/conversations/{id}?insert=xss"))
        .await
        .text()
        .await
        .unwrap();
    assert_escaped(&filled, "reply box filled from a sheet");
    assert!(
        filled.contains("Titolo &lt;script&gt;"),
        "sheet titles escaped in the reply box's picker"
    );
    assert!(filled.contains("Riassunto &lt;img"));

    let resp = admin.get(&format!("/api/v1/conversations/{id}")).await;
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    let detail: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        detail["conversation"]["contact_name"],
        name.as_str(),
        "JSON carries the text as data"
    );
    assert_eq!(detail["conversation"]["subject"], subject.as_str());
    let csp = admin.get("/queue").await.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
}

#[tokio::test]
async fn a_post_without_the_csrf_token_is_rejected() {
    let app = TestApp::sqlite().await;
    let id = app
        .queue_conversation("telegram", "Anna", "aiuto", None)
        .await;
    let admin = app.admin().await;
    let url = format!("{}/queue/{id}/claim", app.base);
    let bare = admin
        .client
        .post(&url)
        .form(&[("status", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 403);
    let wrong = admin
        .client
        .post(&url)
        .form(&[("csrf", "not-the-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let api = admin
        .client
        .post(format!("{}/api/v1/conversations/{id}/claim", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 403);
    assert!(
        api.json::<serde_json::Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("CSRF")
    );
    assert_eq!(
        app.store.conversation(id).await.unwrap().status.as_str(),
        "queued",
        "nothing happened"
    );
    let logout = admin
        .client
        .post(format!("{}/logout", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 403, "even logging out needs the token");
    // A bearer token needs no CSRF token: browsers never send it on their own.
    let token = app.store.create_token("admin", Role::Admin).await.unwrap();
    let ok = reqwest::Client::new()
        .post(format!("{}/api/v1/conversations/{id}/claim", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn the_session_id_changes_at_login_and_logout_ends_it() {
    let app = TestApp::sqlite().await;
    let client = app.client();
    let login = || async {
        let resp = client
            .post(format!("{}/login", app.base))
            .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
            .send()
            .await
            .unwrap();
        let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
        cookie.split(';').next().unwrap().to_string()
    };
    let first = login().await;
    let second = login().await;
    assert_ne!(first, second, "a new id at every login");
    let old = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let with_first = old
        .get(format!("{}/queue", app.base))
        .header("cookie", &first)
        .send()
        .await
        .unwrap();
    assert_eq!(with_first.status(), 303, "the old id no longer works");
    let with_second = old
        .get(format!("{}/queue", app.base))
        .header("cookie", &second)
        .send()
        .await
        .unwrap();
    assert_eq!(with_second.status(), 200);
    let page = with_second.text().await.unwrap();
    let csrf = sportello_testkit::csrf_of(&page).unwrap();
    let out = old
        .post(format!("{}/logout", app.base))
        .header("cookie", &second)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    let after = old
        .get(format!("{}/queue", app.base))
        .header("cookie", &second)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 303);
}

#[tokio::test]
async fn a_behind_https_proxy_login_sets_a_secure_cookie() {
    // Only a proxy named in `console.trusted_proxies` is believed (tests/edge.rs shows the
    // header ignored from anyone else).
    let app =
        TestApp::sqlite_with(&[("SPORTELLO_CONSOLE__TRUSTED_PROXIES", r#"["127.0.0.1/32"]"#)])
            .await;
    let resp = app
        .client()
        .post(format!("{}/login", app.base))
        .header("x-forwarded-proto", "https")
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Secure")
    );
}

#[tokio::test]
async fn login_attempts_are_throttled_per_username() {
    let app = TestApp::sqlite().await;
    let client = app.client();
    let attempt = |password: &'static str| {
        let client = client.clone();
        let url = format!("{}/login", app.base);
        async move {
            client
                .post(url)
                .form(&[("username", "admin"), ("password", password)])
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..5 {
        assert_eq!(attempt("wrong-password").await.status(), 401);
    }
    let blocked = attempt(ADMIN_PASSWORD).await;
    assert_eq!(blocked.status(), 429, "even the right password waits");
    assert!(
        blocked
            .text()
            .await
            .unwrap()
            .contains("Riprova tra 15 minuti")
    );
}

#[tokio::test]
async fn passwords_and_tokens_never_appear_in_the_logs() {
    // The process matters here: what it writes to its log, debug lines included.
    let mut served = Runs::sqlite();
    served.env("RUST_LOG", "debug");
    served.start(env!("CARGO_BIN_EXE_sportello"), &[]).await;
    let store = served.store().await;
    store
        .add_user("mario", Role::Operator, PASSWORD)
        .await
        .unwrap();
    let mario = login_at(&served.base, "mario", PASSWORD).await;
    let admin = login_at(&served.base, "admin", ADMIN_PASSWORD).await;
    let _ = client()
        .post(format!("{}/login", served.base))
        .form(&[
            ("username", "mario"),
            ("password", "a-wrong-secret-password"),
        ])
        .send()
        .await
        .unwrap();
    let created = admin
        .post_form("/tokens", &[("name", "integrazione"), ("role", "operator")])
        .await
        .text()
        .await
        .unwrap();
    let at = created.find("spt_").unwrap();
    let token: String = created[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "_-".contains(*c))
        .collect();
    let api = reqwest::Client::new()
        .get(format!("{}/api/v1/conversations", served.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200);
    let cookie_page = mario.get("/queue").await.text().await.unwrap();
    assert!(cookie_page.contains("mario"));
    let (code, logs) = served.terminate();
    assert_eq!(code, Some(0), "{logs}");
    assert!(logs.contains("sportello is serving"), "logs were captured");
    for secret in [
        PASSWORD,
        ADMIN_PASSWORD,
        "a-wrong-secret-password",
        token.as_str(),
        mario.csrf.as_str(),
    ] {
        assert!(!logs.contains(secret), "a secret in the logs: {secret}");
    }
}

#[tokio::test]
async fn login_attempts_are_throttled_per_address_across_usernames() {
    let app = TestApp::sqlite().await;
    let client = app.client();
    let url = format!("{}/login", app.base);
    for i in 0..20 {
        let name = format!("nobody-{i}");
        let resp = client
            .post(&url)
            .form(&[("username", name.as_str()), ("password", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
    }
    let blocked = client
        .post(&url)
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(blocked.status(), 429);
}

#[tokio::test]
async fn a_login_form_posted_from_another_site_is_refused() {
    let app = TestApp::sqlite().await;
    let resp = app
        .client()
        .post(format!("{}/login", app.base))
        .header("origin", "https://evil.example")
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(resp.headers().get("set-cookie").is_none());
    let same = app
        .client()
        .post(format!("{}/login", app.base))
        .header("origin", app.base.as_str())
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 303);
}
