//! The JSON API over HTTP, against a real `sportello serve`: actions, sheets, the OpenAPI
//! description, and the admin's tokens.

use reqwest::Method;
use serde_json::json;
use sportello_core::model::Role;
use sportello_testkit::{PASSWORD, TestApp};

#[tokio::test]
async fn releasing_puts_a_conversation_back_in_the_queue() {
    let app = TestApp::sqlite().await;
    app.add_user("mario", Role::Operator).await;
    let id = app
        .queue_conversation("telegram", "Anna", "aiuto", None)
        .await;
    let mario = app.login("mario", PASSWORD).await;
    assert_eq!(
        mario
            .json(
                Method::POST,
                &format!("/api/v1/conversations/{id}/claim"),
                None
            )
            .await
            .status(),
        200
    );
    assert_eq!(
        mario
            .json(
                Method::POST,
                &format!("/api/v1/conversations/{id}/release"),
                None
            )
            .await
            .status(),
        200
    );
    assert_eq!(
        app.store.conversation(id).await.unwrap().status.as_str(),
        "queued"
    );
    assert_eq!(
        mario
            .json(
                Method::POST,
                &format!("/api/v1/conversations/{id}/release"),
                None
            )
            .await
            .status(),
        409
    );
}

#[tokio::test]
async fn editors_create_update_and_delete_sheets_with_errors_per_field() {
    let app = TestApp::sqlite().await;
    app.add_user("elena", Role::Editor).await;
    let elena = app.login("elena", PASSWORD).await;
    let bad = elena
        .json(
            Method::POST,
            "/api/v1/sheets",
            Some(
                json!({ "id": "nuova scheda!", "title": "", "summary": "x", "office": "nessuno" }),
            ),
        )
        .await;
    assert_eq!(bad.status(), 422);
    let body: serde_json::Value = bad.json().await.unwrap();
    for field in ["id", "title", "office"] {
        assert!(body["fields"][field].is_string(), "{field}: {body}");
    }
    let missing = elena
        .json(
            Method::POST,
            "/api/v1/sheets",
            Some(json!({ "id": "a", "title": "b" })),
        )
        .await;
    assert_eq!(missing.status(), 422);
    assert!(missing.json::<serde_json::Value>().await.unwrap()["fields"]["summary"].is_string());

    let sheet = json!({ "id": "orari-biblioteca", "title": "Orari della biblioteca", "summary": "La biblioteca è aperta dalle 9 alle 19." });
    let created = elena
        .json(Method::POST, "/api/v1/sheets", Some(sheet.clone()))
        .await;
    assert_eq!(created.status(), 201);
    assert_eq!(
        elena
            .json(Method::POST, "/api/v1/sheets", Some(sheet))
            .await
            .status(),
        409
    );
    let updated = elena
        .json(
            Method::PUT,
            "/api/v1/sheets/orari-biblioteca",
            Some(json!({ "title": "Orari biblioteca", "summary": "Aperta dalle 9 alle 18." })),
        )
        .await;
    assert_eq!(updated.status(), 200);
    let got: serde_json::Value = elena
        .get("/api/v1/sheets/orari-biblioteca")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["sheet"]["summary"], "Aperta dalle 9 alle 18.");
    assert_eq!(got["revision"], 2);
    assert_eq!(
        elena
            .json(Method::DELETE, "/api/v1/sheets/orari-biblioteca", None)
            .await
            .status(),
        200
    );
    assert_eq!(
        elena.get("/api/v1/sheets/orari-biblioteca").await.status(),
        404
    );
}

#[tokio::test]
async fn the_openapi_description_lists_exactly_the_api_routes_served() {
    let app = TestApp::sqlite().await;
    let token = app.store.create_token("admin", Role::Admin).await.unwrap();
    let client = reqwest::Client::new();
    let doc: serde_json::Value = client
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 8);
    let all = ["GET", "POST", "PUT", "DELETE", "PATCH"];
    for (path, ops) in paths {
        let url = format!("{}/api/v1{}", app.base, path.replace("{id}", "999999"));
        for method in all {
            let described = ops.get(method.to_lowercase()).is_some();
            let resp = client
                .request(Method::from_bytes(method.as_bytes()).unwrap(), &url)
                .bearer_auth(&token)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            if described {
                assert_ne!(status, 405, "{method} {path} is described but not served");
                assert!(
                    !text.contains("percorso inesistente"),
                    "{method} {path} is described but not served"
                );
            } else {
                assert_eq!(status, 405, "{method} {path} is served but not described");
            }
        }
    }
    let unknown = client
        .get(format!("{}/api/v1/nothing", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        unknown.json::<serde_json::Value>().await.unwrap()["error"],
        "percorso inesistente"
    );
}

#[tokio::test]
async fn admins_add_users_and_create_and_revoke_tokens_shown_once() {
    let app = TestApp::sqlite().await;
    let admin = app.admin().await;
    let added = admin
        .post_form(
            "/users",
            &[
                ("username", "nuovo"),
                ("password", "una-password-lunga"),
                ("role", "operator"),
            ],
        )
        .await;
    assert_eq!(added.status(), 200);
    app.login("nuovo", "una-password-lunga").await;
    let created = admin
        .post_form("/tokens", &[("name", "integrazione"), ("role", "operator")])
        .await;
    assert_eq!(created.status(), 201);
    let page = created.text().await.unwrap();
    let at = page.find("spt_").expect("the token is shown");
    let token: String = page[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "_-".contains(*c))
        .collect();
    let client = reqwest::Client::new();
    let list = format!("{}/api/v1/conversations", app.base);
    assert_eq!(
        client
            .get(&list)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(
        !admin
            .get("/users")
            .await
            .text()
            .await
            .unwrap()
            .contains(&token),
        "shown only once"
    );
    let tokens = app.store.tokens().await.unwrap();
    let id = tokens.iter().find(|t| t.name == "integrazione").unwrap().id;
    assert_eq!(
        admin
            .post_form(&format!("/tokens/{id}/revoke"), &[])
            .await
            .status(),
        303
    );
    assert_eq!(
        client
            .get(&list)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let users = app.store.accounts().await.unwrap();
    let nuovo = users.iter().find(|u| u.username == "nuovo").unwrap().id;
    assert_eq!(
        admin
            .post_form(&format!("/users/{nuovo}/disable"), &[])
            .await
            .status(),
        303
    );
    let refused = app
        .client()
        .post(format!("{}/login", app.base))
        .form(&[("username", "nuovo"), ("password", "una-password-lunga")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}
