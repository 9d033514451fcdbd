//! A bare-hands bot: a reqwest client calling the double.

use serde_json::{Value, json};
use sportello_doubles::telegram::{Contract, TelegramDouble};

pub const TOKEN: &str = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz";

pub struct Bot {
    pub double: TelegramDouble,
    pub client: reqwest::Client,
}

impl Bot {
    pub async fn start() -> Bot {
        let double = TelegramDouble::start(TOKEN).await;
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        Bot { double, client }
    }

    pub fn url(&self, method: &str) -> String {
        format!("{}/bot{TOKEN}/{method}", self.double.api_url())
    }

    /// POSTs the parameters as JSON; gives the status and the JSON body.
    pub async fn call(&self, method: &str, params: Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url(method))
            .json(&params)
            .send()
            .await
            .unwrap();
        read(response).await
    }

    /// A well-formed sendMessage; gives the message_id answered.
    pub async fn say(&self, chat_id: i64, text: &str) -> i64 {
        let (status, body) = self
            .call("sendMessage", json!({ "chat_id": chat_id, "text": text }))
            .await;
        assert_eq!(status, 200, "{body}");
        body["result"]["message_id"].as_i64().unwrap()
    }
}

pub async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, body)
}

/// Asserts an error answer as Telegram gives it, and gives its description.
pub fn error_of(status: u16, body: &Value, expected: u16) -> String {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["ok"], json!(false), "{body}");
    assert_eq!(body["error_code"], json!(expected), "{body}");
    body["description"].as_str().unwrap().to_string()
}

/// Asserts the value is a well-formed `type_name` by the contract.
pub fn conforms(type_name: &str, value: &Value) {
    let problems = Contract::shared().validate_value(type_name, value);
    assert!(problems.is_empty(), "{type_name} {value}: {problems:#?}");
}
