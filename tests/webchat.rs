//! The citizen web chat over HTTP, against a real `sportello serve`: the page's session,
//! texts and buttons, a person taking over and answering live, ratings, and the chat's
//! defences (CSRF, double submissions, rate limits, body size, escaping).

use reqwest::Method;
use serde_json::{Value, json};
use sportello_core::config::Texts;
use sportello_core::model::Role;
use sportello_core::resume::ResumeKey;
use sportello_testkit::TestApp;
use sportello_testkit::chat::resume_link_of;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn buttons(message: &Value) -> Vec<(String, String)> {
    message["buttons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["label"].as_str().unwrap().to_string(),
                b["data"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// An operator's API client, by Bearer token.
struct Operator {
    client: reqwest::Client,
    token: String,
    base: String,
}

impl Operator {
    async fn new(app: &TestApp, name: &str) -> Self {
        app.add_user(name, Role::Operator).await;
        Self {
            client: reqwest::Client::new(),
            token: app.store.create_token(name, Role::Operator).await.unwrap(),
            base: app.base.clone(),
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .client
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap_or(Value::Null)
    }
}

/// Ask, get the answer with 👍/👎, say it did not help, get alternatives and a person's
/// button, ask for a person; an operator claims and replies, and the reply arrives live;
/// resolved, the citizen rates the service.
async fn a_citizen_is_answered_then_helped_by_an_operator_and_rates_the_service(app: &TestApp) {
    let texts = Texts::default();
    let mario = Operator::new(app, "mario").await;
    let chat = app.chat().await;
    let mut live = chat.events().await;

    chat.say("orari urp").await;
    let answer = chat.last().await;
    assert_eq!(answer["author"], "bot");
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("aperto al pubblico"),
        "{answer}"
    );
    let feedback = buttons(&answer);
    assert_eq!(
        feedback.iter().map(|b| b.0.as_str()).collect::<Vec<_>>(),
        ["👍 Utile", "👎 Non utile"]
    );
    let (label, data) = &feedback[1];
    assert_eq!(
        chat.press(data, label).await["notice"],
        texts.feedback_thanks
    );
    let alternatives = chat.last().await;
    assert!(
        alternatives["text"]
            .as_str()
            .unwrap()
            .starts_with("Mi dispiace"),
        "{alternatives}"
    );
    let choices = buttons(&alternatives);
    let person = choices
        .iter()
        .find(|b| b.1 == "operator")
        .expect("a button to ask for a person");

    chat.press(&person.1, &person.0).await;
    let handed = chat.last().await;
    assert!(
        handed["text"].as_str().unwrap().contains("operatore"),
        "{handed}"
    );
    let queued = mario
        .call(Method::GET, "/conversations?status=queued", None)
        .await;
    let conversation = queued
        .as_array()
        .or_else(|| queued["conversations"].as_array())
        .unwrap()
        .iter()
        .find(|c| c["channel"] == "webchat")
        .unwrap_or_else(|| panic!("the chat is not in the queue: {queued}"))
        .clone();
    let id = conversation["id"].as_i64().unwrap();
    assert!(
        conversation["contact_name"]
            .as_str()
            .unwrap()
            .starts_with("Visitatore web")
    );

    mario
        .call(Method::POST, &format!("/conversations/{id}/claim"), None)
        .await;
    mario
        .call(
            Method::POST,
            &format!("/conversations/{id}/reply"),
            Some(json!({ "text": "Buongiorno, sono Mario dell'URP: come posso aiutarla?" })),
        )
        .await;
    let arrived = live.until("sono Mario dell'URP").await;
    assert!(arrived.contains("event: message"), "{arrived}");
    let reply = chat.last().await;
    assert_eq!(reply["author"], "operator");

    mario
        .call(Method::POST, &format!("/conversations/{id}/resolve"), None)
        .await;
    let rating = chat.last().await;
    let scores = buttons(&rating);
    assert_eq!(scores.len(), 5, "{rating}");
    let five = scores
        .iter()
        .find(|b| b.1 == format!("rate:{id}:5"))
        .unwrap();
    assert_eq!(
        chat.press(&five.1, &five.0).await["notice"],
        texts.rating_thanks
    );
    let score: Option<i64> = sqlx::query_scalar(
        "select score from feedback where conversation_id = $1 and score is not null",
    )
    .bind(id)
    .fetch_optional(app.store.pool())
    .await
    .unwrap()
    .flatten();
    assert_eq!(score, Some(5));

    // Someone else's conversation and made-up data: a polite word, nothing recorded.
    assert_eq!(
        chat.press(&format!("rate:{}:1", id + 1000), "1").await["notice"],
        texts.stale_button
    );
    assert_eq!(
        chat.press("<script>alert(1)</script>", "x").await["notice"],
        texts.stale_button
    );
    let ratings: i64 = sqlx::query_scalar("select count(*) from feedback where score is not null")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(ratings, 1);
}

#[tokio::test]
async fn a_citizen_is_answered_then_helped_by_an_operator_and_rates_the_service_on_sqlite() {
    let app = TestApp::sqlite().await;
    a_citizen_is_answered_then_helped_by_an_operator_and_rates_the_service(&app).await;
}

#[tokio::test]
async fn a_citizen_is_answered_then_helped_by_an_operator_and_rates_the_service_on_postgres() {
    let app = TestApp::postgres().await;
    a_citizen_is_answered_then_helped_by_an_operator_and_rates_the_service(&app).await;
}

#[tokio::test]
async fn a_message_submitted_twice_is_stored_once_and_sessions_do_not_share_a_transcript() {
    let app = TestApp::sqlite().await;
    let anna = app.chat().await;
    anna.say_with_id("Come pago la TARI?", "0f8b2c1e-aaaa-4bbb-8ccc-123456789abc")
        .await;
    anna.say_with_id("Come pago la TARI?", "0f8b2c1e-aaaa-4bbb-8ccc-123456789abc")
        .await;
    let stored: i64 =
        sqlx::query_scalar("select count(*) from messages where text = 'Come pago la TARI?'")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(stored, 1);
    let mine = anna.transcript().await;
    assert_eq!(mine.iter().filter(|m| m["author"] == "citizen").count(), 1);

    // Another browser using the same page id is another citizen.
    let ugo = app.chat().await;
    ugo.say_with_id("Come pago la TARI?", "0f8b2c1e-aaaa-4bbb-8ccc-123456789abc")
        .await;
    let theirs = ugo.transcript().await;
    assert_eq!(
        theirs.iter().filter(|m| m["author"] == "citizen").count(),
        1
    );
    assert!(
        theirs
            .iter()
            .all(|t| mine.iter().all(|m| m["id"] != t["id"]))
    );
}

#[tokio::test]
async fn a_session_or_an_address_writing_too_fast_is_asked_to_wait() {
    let app = TestApp::sqlite_with(&[
        ("SPORTELLO_WEBCHAT__RATE_PER_SESSION", "3"),
        ("SPORTELLO_WEBCHAT__RATE_PER_IP", "5"),
    ])
    .await;
    let anna = app.chat().await;
    for n in 0..3 {
        anna.say(&format!("domanda {n}")).await;
    }
    let refused = anna.post(json!({ "text": "ancora una" })).await;
    assert_eq!(refused.status(), 429);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("troppo in fretta"),
        "{body}"
    );

    // A second browser on the same address has the address's last two messages.
    let ugo = app.chat().await;
    ugo.say("prima").await;
    ugo.say("seconda").await;
    assert_eq!(ugo.post(json!({ "text": "terza" })).await.status(), 429);
    let stored: i64 = sqlx::query_scalar("select count(*) from messages where direction = 'in'")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(stored, 5);
}

#[tokio::test]
async fn posts_without_the_session_or_its_token_are_refused() {
    let app = TestApp::sqlite().await;
    let anna = app.chat().await;
    let no_token = anna
        .client
        .post(format!("{}/chat/messages", app.base))
        .json(&json!({ "text": "ciao" }))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 403);
    let ugo = app.chat().await;
    let wrong_token = anna
        .client
        .post(format!("{}/chat/messages", app.base))
        .header("X-CSRF-Token", &ugo.csrf)
        .json(&json!({ "text": "ciao" }))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_token.status(), 403);
    let no_cookie = reqwest::Client::new()
        .post(format!("{}/chat/messages", app.base))
        .header("X-CSRF-Token", &anna.csrf)
        .json(&json!({ "text": "ciao" }))
        .send()
        .await
        .unwrap();
    assert_eq!(no_cookie.status(), 403);
    assert!(anna.transcript().await.is_empty());
}

#[tokio::test]
async fn a_page_without_script_posts_a_form_and_sees_the_answer_after_the_redirect() {
    let app = TestApp::sqlite().await;
    let anna = app.chat().await;
    let r = anna
        .client
        .post(format!("{}/chat/messages", app.base))
        .form(&[("text", "orari urp"), ("csrf", anna.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/chat");
    let page = anna.page().await;
    assert!(page.contains("orari urp"));
    assert!(page.contains("aperto al pubblico"));
    assert!(page.contains(r#"<button type="submit" class="btn btn-outline""#));
}

#[tokio::test]
async fn a_ten_megabyte_post_is_refused_and_the_chat_carries_on() {
    let app = TestApp::sqlite().await;
    let anna = app.chat().await;
    // Announced as 10 MB: refused before any of it is sent.
    let mut socket = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "POST /chat/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         X-CSRF-Token: {}\r\nContent-Length: {}\r\n\r\n",
        anna.csrf,
        10 * 1024 * 1024
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // Sent whole: when the client gets to read the answer, it is 413 (the server may close
    // the connection before the upload ends).
    let huge = "a".repeat(10 * 1024 * 1024);
    if let Ok(r) = anna
        .client
        .post(format!("{}/chat/messages", app.base))
        .header("X-CSRF-Token", &anna.csrf)
        .json(&json!({ "text": huge }))
        .send()
        .await
    {
        assert_eq!(r.status(), 413);
    }
    let too_long = anna.post(json!({ "text": "b".repeat(2001) })).await;
    assert_eq!(too_long.status(), 422);
    assert_eq!(anna.say("orari urp").await["ok"], true);
    assert!(
        anna.last().await["text"]
            .as_str()
            .unwrap()
            .contains("aperto al pubblico")
    );
}

#[tokio::test]
async fn script_and_odd_unicode_in_a_message_are_kept_and_shown_escaped_in_the_chat_and_the_console()
 {
    let app = TestApp::sqlite().await;
    let anna = app.chat().await;
    let text = "<script>alert('x')</script> <b>grassetto</b> Ā𝔘\u{202e}ﬁ 🇮🇹 \u{200b}operatore?";
    anna.say(text).await;
    anna.say("/operatore").await;
    let transcript = anna.transcript().await;
    assert_eq!(transcript[0]["text"], text, "kept as written");

    let page = anna.page().await;
    assert!(page.contains("&lt;script&gt;alert('x')&lt;/script&gt; &lt;b&gt;grassetto&lt;/b&gt;"));
    assert!(!page.contains("<script>alert"));
    assert!(!page.contains("<b>grassetto"));
    let fragment = anna
        .client
        .get(format!("{}/chat/transcript", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(fragment.contains("&lt;script&gt;"));
    assert!(!fragment.contains("<script>alert"));

    let admin = app.admin().await;
    let queue = admin.get("/queue").await.text().await.unwrap();
    let id = app
        .store
        .conversations(None, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.channel == "webchat")
        .unwrap()
        .id;
    let conversation = admin
        .get(&format!("/conversations/{id}"))
        .await
        .text()
        .await
        .unwrap();
    for html in [&queue, &conversation] {
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("<b>grassetto"));
    }
    assert!(conversation.contains("&lt;script&gt;alert('x')&lt;/script&gt;"));
}

#[tokio::test]
async fn the_widget_script_opens_the_chat_of_its_own_server() {
    let app = TestApp::sqlite().await;
    let r = reqwest::get(format!("{}/chat/widget.js", app.base))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let js = r.text().await.unwrap();
    assert!(js.contains("document.currentScript"));
    assert!(js.contains("origin + \"/chat\""));
    let page = reqwest::get(format!("{}/chat", app.base)).await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'self'"), "{csp}");
    let cookie = page.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
}

#[tokio::test]
async fn the_welcome_and_the_urp_hours_sheet_both_say_the_hours_of_the_office_section() {
    let app = TestApp::sqlite_with(&[
        ("SPORTELLO_OFFICE__WORKING_DAYS", "[1, 2, 3, 4]"),
        ("SPORTELLO_OFFICE__OPENING", "08:30"),
        ("SPORTELLO_OFFICE__CLOSING", "13:00"),
    ])
    .await;
    let hours = "dal lunedì al giovedì, dalle 8:30 alle 13:00";
    let chat = app.chat().await;
    let page = chat.page().await;
    assert!(page.contains(&format!("che risponde {hours}")), "{page}");
    chat.say("Che orari fa l'URP?").await;
    let answer = chat.last().await;
    let text = answer["text"].as_str().unwrap();
    assert!(
        text.contains(&format!("aperto al pubblico {hours}")),
        "{text}"
    );
    assert!(
        !text.contains("{hours}") && !text.contains("12:30"),
        "{text}"
    );
}

/// Wait until the citizen of `conversation` is (or is no longer) online; the deadline only
/// keeps a broken build from hanging.
async fn until_online(app: &TestApp, conversation: i64, online: bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    while app.store.reach(conversation).await.unwrap().online != online {
        assert!(
            std::time::Instant::now() < deadline,
            "the citizen never became online = {online}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn a_citizen_leaves_an_email_and_the_operator_sees_it_and_whether_they_are_online(
    app: &TestApp,
) {
    let chat = app.chat().await;
    chat.say("vorrei parlare con un operatore").await;
    let id = app
        .store
        .conversations(Some(sportello_core::model::ConversationStatus::Queued), 10)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.channel == "webchat")
        .expect("the chat is in the queue")
        .id;
    let leave = |body: Value| {
        chat.client
            .post(format!("{}/chat/contact", app.base))
            .header("X-CSRF-Token", &chat.csrf)
            .json(&body)
            .send()
    };
    // A bad address, or no consent to the privacy notice: refused, with the reason.
    for body in [
        json!({ "email": "anna", "consent": "yes" }),
        json!({ "email": "anna.rossi@example.it" }),
    ] {
        let r = leave(body).await.unwrap();
        assert_eq!(r.status(), 422);
        let answer: Value = r.json().await.unwrap();
        assert!(answer["error"].as_str().unwrap().contains("informativa"));
    }
    let r = leave(json!({
        "email": "anna.rossi@example.it", "phone": "+39 02 1234 5678", "consent": "yes"
    }))
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    assert!(answer["notice"].as_str().unwrap().starts_with("Grazie"));
    let reach = app.store.reach(id).await.unwrap();
    assert_eq!(reach.email.as_deref(), Some("anna.rossi@example.it"));
    assert_eq!(reach.phone.as_deref(), Some("+39 02 1234 5678"));
    assert!(reach.consent_at.is_some());

    // The page's live stream open: online, as the operator sees in the conversation.
    let live = chat.events().await;
    until_online(app, id, true).await;
    let admin = app.admin().await;
    let page = admin
        .get(&format!("/conversations/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("anna.rossi@example.it"), "{page}");
    assert!(page.contains("+39 02 1234 5678"));
    assert!(page.contains("sì, ha la chat aperta"));
    drop(live);
    until_online(app, id, false).await;
    let page = admin
        .get(&format!("/conversations/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("la risposta resta nella chat"), "{page}");
}

#[tokio::test]
async fn a_citizen_leaves_an_email_and_the_operator_sees_it_and_whether_they_are_online_on_sqlite()
{
    let app = TestApp::sqlite().await;
    a_citizen_leaves_an_email_and_the_operator_sees_it_and_whether_they_are_online(&app).await;
}

#[tokio::test]
async fn a_citizen_leaves_an_email_and_the_operator_sees_it_and_whether_they_are_online_on_postgres()
 {
    let app = TestApp::postgres().await;
    a_citizen_leaves_an_email_and_the_operator_sees_it_and_whether_they_are_online(&app).await;
}

/// The citizen asks for a person and keeps the personal link the page offers; the operator
/// answers; in another browser the link brings back the same conversation, its transcript
/// with the operator's reply, and lets the citizen write on in it. An expired link or an
/// altered one gets a page that says so, reveals nothing and gives no session.
async fn a_citizen_comes_back_from_another_browser_with_the_personal_link(app: &TestApp) {
    let mario = Operator::new(app, "mario").await;
    let chat = app.chat().await;
    chat.say("vorrei parlare con un operatore").await;
    let id = app
        .store
        .conversations(Some(sportello_core::model::ConversationStatus::Queued), 10)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.channel == "webchat")
        .expect("the chat is in the queue")
        .id;
    mario
        .call(Method::POST, &format!("/conversations/{id}/claim"), None)
        .await;
    mario
        .call(
            Method::POST,
            &format!("/conversations/{id}/reply"),
            Some(json!({ "text": "Buongiorno, la sua pratica è pronta." })),
        )
        .await;

    let page = chat.page().await;
    assert!(page.contains("Conserva questo link"), "{page}");
    assert!(page.contains("entro 30 giorni"), "{page}");
    let link = resume_link_of(&page).expect("the page offers a resume link");
    assert!(
        link.starts_with(&format!("{}/chat/resume/", app.base)),
        "{link}"
    );

    // Another browser, later: the same conversation.
    let again = app.chat_from_link(&link).await;
    let page = again.page().await;
    assert!(page.contains("vorrei parlare con un operatore"), "{page}");
    assert!(page.contains("la sua pratica è pronta"), "{page}");
    again.say("Grazie, passo domani a ritirarla").await;
    assert!(
        chat.transcript()
            .await
            .iter()
            .any(|m| m["text"] == "Grazie, passo domani a ritirarla"),
        "the first browser sees what was written in the second"
    );
    let conversations: i64 = sqlx::query_scalar(
        "select count(distinct conversation_id) from messages where channel = 'webchat'",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!(conversations, 1);
    let detail = mario
        .call(Method::GET, &format!("/conversations/{id}"), None)
        .await;
    assert!(
        detail
            .to_string()
            .contains("Grazie, passo domani a ritirarla"),
        "{detail}"
    );

    // Refused links: a page that says why, nothing of the conversation, no session.
    let token = link.rsplit('/').next().unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let (thread, expires) = (parts[0], parts[1].parse::<i64>().unwrap());
    let key = ResumeKey::load(&app.store).await.unwrap();
    let expired = key.token(thread, app.store.now_ms() / 1000 - 1);
    let mut other_thread = thread.to_string();
    let last = if other_thread.ends_with('0') {
        "1"
    } else {
        "0"
    };
    other_thread.pop();
    other_thread.push_str(last);
    let refused = [
        (expired, 410, "è scaduto"),
        (
            format!("{thread}.{}.{}", expires + 86_400, parts[2]),
            404,
            "non è valido",
        ),
        (
            format!("{other_thread}.{expires}.{}", parts[2]),
            404,
            "non è valido",
        ),
        ("nonsense".to_string(), 404, "non è valido"),
    ];
    for (token, status, says) in refused {
        let stranger = sportello_testkit::client();
        let r = stranger
            .get(format!("{}/chat/resume/{token}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{token}");
        assert!(r.headers().get("set-cookie").is_none(), "{token}");
        let body = r.text().await.unwrap();
        assert!(body.contains(says), "{body}");
        assert!(body.contains("Inizia una nuova conversazione"), "{body}");
        assert!(
            !body.contains("vorrei parlare") && !body.contains("pratica è pronta"),
            "{body}"
        );
        let transcript = stranger
            .get(format!("{}/chat/transcript", app.base))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(transcript.status(), 403, "{token}");
    }
}

#[tokio::test]
async fn a_citizen_comes_back_from_another_browser_with_the_personal_link_on_sqlite() {
    let app = TestApp::sqlite().await;
    a_citizen_comes_back_from_another_browser_with_the_personal_link(&app).await;
}

#[tokio::test]
async fn a_citizen_comes_back_from_another_browser_with_the_personal_link_on_postgres() {
    let app = TestApp::postgres().await;
    a_citizen_comes_back_from_another_browser_with_the_personal_link(&app).await;
}
