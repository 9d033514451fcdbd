//! A citizen in the web chat, as the page's script talks to the server: the session cookie,
//! the page's CSRF token, JSON posts and the live stream.

use std::time::Duration;

use serde_json::{Value, json};

use super::{TestApp, csrf_of, unique};

/// A browser session on `/chat`.
pub struct Chat {
    /// The client, holding the `sportello_chat` cookie.
    pub client: reqwest::Client,
    /// The page's CSRF token.
    pub csrf: String,
    base: String,
}

impl TestApp {
    /// Open `/chat` in a new browser session.
    pub async fn chat(&self) -> Chat {
        open(&self.base).await
    }

    /// Open a personal resume link in a new browser (no cookies yet), as a citizen coming
    /// back would: the link leads to `/chat`, whose session is then the link's conversation.
    pub async fn chat_from_link(&self, link: &str) -> Chat {
        let client = super::client();
        let r = client.get(link).send().await.unwrap();
        assert_eq!(r.status(), 303, "opening {link}");
        assert_eq!(r.headers()["location"], "/chat");
        let page = client
            .get(format!("{}/chat", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let csrf = csrf_of(&page.text().await.unwrap()).expect("the chat page has a CSRF token");
        Chat {
            client,
            csrf,
            base: self.base.clone(),
        }
    }
}

/// The personal resume link a chat page offers.
pub fn resume_link_of(page: &str) -> Option<String> {
    let at = page.find(r#"id="resume-link""#)?;
    let rest = &page[at..];
    let rest = &rest[rest.find(r#"value=""#)? + r#"value=""#.len()..];
    Some(rest[..rest.find('"')?].to_string())
}

/// Open `/chat` of the console at `base` in a new browser session.
pub async fn open(base: &str) -> Chat {
    let client = super::client();
    let page = client.get(format!("{base}/chat")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csrf = csrf_of(&page.text().await.unwrap()).expect("the chat page has a CSRF token");
    Chat {
        client,
        csrf,
        base: base.to_string(),
    }
}

impl Chat {
    /// Post a JSON body with the CSRF header.
    pub async fn post(&self, body: Value) -> reqwest::Response {
        self.client
            .post(format!("{}/chat/messages", self.base))
            .header("X-CSRF-Token", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Write a message with a fresh client id; the server's JSON answer.
    pub async fn say(&self, text: &str) -> Value {
        let id = format!("test-{}", unique()).replace('_', "-");
        self.say_with_id(text, &id).await
    }

    /// Write a message with the page's id `id`.
    pub async fn say_with_id(&self, text: &str, id: &str) -> Value {
        let r = self.post(json!({ "text": text, "id": id })).await;
        assert_eq!(r.status(), 200, "posting {text:?}");
        r.json().await.unwrap()
    }

    /// Press a button; the server's JSON answer (its `notice`).
    pub async fn press(&self, data: &str, label: &str) -> Value {
        let r = self.post(json!({ "data": data, "label": label })).await;
        assert_eq!(r.status(), 200, "pressing {data:?}");
        r.json().await.unwrap()
    }

    /// The transcript, oldest first.
    pub async fn transcript(&self) -> Vec<Value> {
        let body: Value = self
            .client
            .get(format!("{}/chat/transcript", self.base))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["messages"].as_array().unwrap().clone()
    }

    /// The last message of the transcript.
    pub async fn last(&self) -> Value {
        self.transcript().await.pop().expect("an empty transcript")
    }

    /// The chat page.
    pub async fn page(&self) -> String {
        self.client
            .get(format!("{}/chat", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Open the live stream (as the page does on load).
    pub async fn events(&self) -> Events {
        let r = self
            .client
            .get(format!("{}/chat/events", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        Events {
            response: r,
            seen: String::new(),
        }
    }
}

/// The live stream of a chat session.
pub struct Events {
    response: reqwest::Response,
    seen: String,
}

impl Events {
    /// Read the stream until a message containing `text` has arrived; what arrived so far.
    /// The deadline only keeps a broken build from hanging.
    pub async fn until(&mut self, text: &str) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !self.seen.contains(text) {
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("no live message with {text:?}; got {:?}", self.seen))
                .unwrap()
                .expect("the live stream ended");
            self.seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        self.seen.clone()
    }
}
