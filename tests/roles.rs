//! Roles hold on every route: each role gets 403 on the routes that are not its own, and
//! nobody gets in without a session (401 from the API, a redirect to `/login` from pages).

use reqwest::Method;
use sportello_core::model::Role;
use sportello_testkit::{PASSWORD, TestApp};

/// Every console route, with the roles allowed (admins always are).
const ROUTES: &[(&str, &str, &[&str])] = &[
    ("GET", "/queue", &["operator"]),
    ("GET", "/queue/table", &["operator"]),
    ("POST", "/queue/{id}/claim", &["operator"]),
    ("GET", "/conversations/{id}", &["operator"]),
    ("GET", "/queue/events", &["operator"]),
    ("POST", "/conversations/{id}/note", &["operator"]),
    ("POST", "/conversations/{id}/teach", &["operator"]),
    ("POST", "/conversations/{id}/transfer", &["operator"]),
    ("POST", "/conversations/{id}/reply", &["operator"]),
    ("POST", "/conversations/{id}/release", &["operator"]),
    ("POST", "/conversations/{id}/resolve", &["operator"]),
    ("POST", "/conversations/{id}/claim", &["operator"]),
    (
        "POST",
        "/conversations/{id}/outbox/999/retry",
        &["operator"],
    ),
    ("GET", "/sheets", &["editor"]),
    ("GET", "/sheets/new", &["editor"]),
    ("POST", "/sheets/new", &["editor"]),
    ("GET", "/sheets/{sheet}", &["editor"]),
    ("POST", "/sheets/{sheet}", &["editor"]),
    ("POST", "/sheets/{sheet}/restore/1", &["editor"]),
    ("GET", "/sheets/learn", &["editor"]),
    ("GET", "/sheets/import", &["editor"]),
    ("POST", "/sheets/import", &["editor"]),
    ("GET", "/sheets/export.csv", &["editor"]),
    ("GET", "/sheets/export.tar", &["editor"]),
    ("POST", "/sheets/learn/phrasings/999/reject", &["editor"]),
    ("POST", "/sheets/learn/teach", &["editor"]),
    ("GET", "/stats", &["editor"]),
    ("GET", "/stats.csv", &["editor"]),
    ("GET", "/api/v1/stats", &["editor"]),
    ("GET", "/users", &[]),
    ("POST", "/users", &[]),
    ("POST", "/users/999/disable", &[]),
    ("POST", "/users/999/enable", &[]),
    ("GET", "/audit", &[]),
    ("POST", "/tokens", &[]),
    ("POST", "/tokens/999/revoke", &[]),
    ("GET", "/api/v1/conversations", &["operator"]),
    ("GET", "/api/v1/conversations/{id}", &["operator"]),
    ("POST", "/api/v1/conversations/{id}/claim", &["operator"]),
    ("POST", "/api/v1/conversations/{id}/release", &["operator"]),
    ("POST", "/api/v1/conversations/{id}/reply", &["operator"]),
    ("POST", "/api/v1/conversations/{id}/resolve", &["operator"]),
    ("POST", "/api/v1/conversations/{id}/transfer", &["operator"]),
    ("POST", "/api/v1/conversations/{id}/notes", &["operator"]),
    ("GET", "/api/v1/sheets", &["editor"]),
    ("POST", "/api/v1/sheets", &["editor"]),
    ("GET", "/api/v1/sheets/{sheet}", &["editor"]),
    ("PUT", "/api/v1/sheets/{sheet}", &["editor"]),
    ("DELETE", "/api/v1/sheets/nothing", &["editor"]),
];

#[tokio::test]
async fn each_role_gets_403_on_routes_not_its_own_and_nobody_gets_in_unauthenticated() {
    let app = TestApp::sqlite().await;
    app.add_user("olga", Role::Operator).await;
    app.add_user("elena", Role::Editor).await;
    let id = app
        .queue_conversation("telegram", "Anna", "aiuto", None)
        .await
        .to_string();
    let sessions = [
        ("operator", app.login("olga", PASSWORD).await),
        ("editor", app.login("elena", PASSWORD).await),
        ("admin", app.admin().await),
    ];
    let anonymous = app.client();
    for (method, path, allowed) in ROUTES {
        let path = path
            .replace("{id}", &id)
            .replace("{sheet}", "accesso-documentale");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let api = path.starts_with("/api/");
        let resp = anonymous
            .request(method.clone(), format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        if api {
            assert_eq!(resp.status(), 401, "{method} {path} without a session");
        } else {
            assert_eq!(resp.status(), 303, "{method} {path} without a session");
            assert_eq!(resp.headers()["location"], "/login");
        }
        for (role, session) in &sessions {
            // An empty form body: enough to reach the role check, harmless past it.
            let resp = session
                .client
                .request(method.clone(), format!("{}{path}", app.base))
                .header("X-CSRF-Token", &session.csrf)
                .header(
                    "content-type",
                    if api {
                        "application/json"
                    } else {
                        "application/x-www-form-urlencoded"
                    },
                )
                .body(if api { "{}" } else { "" })
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            if *role == "admin" || allowed.contains(role) {
                assert!(
                    status != 401 && status != 403,
                    "{role}: {method} {path} gave {status}"
                );
            } else {
                assert_eq!(status, 403, "{role}: {method} {path}");
            }
        }
    }
}
