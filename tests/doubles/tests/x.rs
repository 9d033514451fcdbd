//! Self-tests of the X double, spoken to over HTTP as a client would: every answer is checked
//! against the schemas of `shared/contracts/x-api-v2-openapi.json`.

use serde_json::{Value, json};
use sportello_doubles::x::{ACCOUNT_ID, Endpoint, Fault, Reference, XContract, XDouble};

const CLIENT: &str = "client-id-1";
const SECRET: &str = "client-secret-1";

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

async fn call(req: reqwest::RequestBuilder) -> Reply {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json().await.unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

/// Assert that a reply follows the contract for that operation.
fn assert_contract(method: &str, path: &str, r: &Reply) {
    let contract = XContract::shared();
    let problem = r.status >= 400;
    let schema = contract
        .response_schema(method, path, r.status, problem)
        .unwrap_or_else(|| panic!("{method} {path} {} has no schema", r.status));
    let errors = contract.validate(schema, &r.body);
    assert!(
        errors.is_empty(),
        "{method} {path} {}: {errors:?}\n{}",
        r.status,
        r.body
    );
}

fn mentions_url(d: &XDouble) -> String {
    format!("{}/2/users/{ACCOUNT_ID}/mentions", d.api_url())
}

#[tokio::test]
async fn mentions_follow_the_contract_with_pages_expansions_and_rate_limit_headers() {
    let d = XDouble::start(CLIENT, Some(SECRET)).await;
    d.add_user("42", "anna_r", "Anna Rossi", true);
    let first = d.mention(
        "42",
        "come richiedo la carta d'identità? https://example.org/ci",
    );
    for i in 0..6 {
        d.mention("42", &format!("domanda {i}"));
    }
    let token = d.issue_access_token();
    let http = reqwest::Client::new();
    let r = call(http.get(mentions_url(&d)).bearer_auth(&token).query(&[
        ("max_results", "5"),
        (
            "tweet.fields",
            "author_id,conversation_id,created_at,referenced_tweets,entities",
        ),
        ("expansions", "author_id"),
        ("user.fields", "username,name,receives_your_dm"),
    ]))
    .await;
    assert_eq!(r.status, 200);
    assert_contract("get", "/2/users/{id}/mentions", &r);
    assert_eq!(r.body["data"].as_array().unwrap().len(), 5);
    assert_eq!(r.body["includes"]["users"][0]["username"], "anna_r");
    assert_eq!(r.headers["x-rate-limit-limit"], "180");
    assert_eq!(r.headers["x-rate-limit-remaining"], "179");
    let next = r.body["meta"]["next_token"].as_str().unwrap().to_string();
    let r = call(http.get(mentions_url(&d)).bearer_auth(&token).query(&[
        ("max_results", "5"),
        ("pagination_token", next.as_str()),
        ("tweet.fields", "entities"),
    ]))
    .await;
    assert_contract("get", "/2/users/{id}/mentions", &r);
    let last = &r.body["data"][1];
    assert_eq!(
        last["id"],
        first.as_str(),
        "oldest comes last, on the last page"
    );
    assert_eq!(last["entities"]["urls"][0]["url"], "https://example.org/ci");
    assert!(r.body["meta"].get("next_token").is_none());
    // since_id excludes what was seen.
    let newest = r.body["meta"]["newest_id"].as_str().unwrap().to_string();
    let r = call(
        http.get(mentions_url(&d))
            .bearer_auth(&token)
            .query(&[("since_id", first.as_str())]),
    )
    .await;
    assert_eq!(r.body["meta"]["result_count"], 6, "{}", r.body);
    assert!(newest.parse::<u64>().unwrap() > first.parse::<u64>().unwrap());
}

#[tokio::test]
async fn an_unfindable_author_comes_as_a_partial_error_on_a_200() {
    let d = XDouble::start(CLIENT, None).await;
    d.add_user("43", "gone", "Gone", true);
    d.hide_user("43");
    d.mention("43", "ciao");
    let token = d.issue_access_token();
    let r = call(
        reqwest::Client::new()
            .get(mentions_url(&d))
            .bearer_auth(&token)
            .query(&[("expansions", "author_id"), ("tweet.fields", "author_id")]),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_contract("get", "/2/users/{id}/mentions", &r);
    assert_eq!(r.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        r.body["errors"][0]["type"],
        "https://api.twitter.com/2/problems/resource-not-found"
    );
}

#[tokio::test]
async fn posts_replies_duplicates_dms_and_problems_follow_the_contract() {
    let d = XDouble::start(CLIENT, None).await;
    d.add_user("42", "anna_r", "Anna", true);
    d.add_user("44", "chiuso", "Chiuso", false);
    let asked = d.mention("42", "orari?");
    let token = d.issue_access_token();
    let http = reqwest::Client::new();
    let post = |body: Value| {
        http.post(format!("{}/2/tweets", d.api_url()))
            .bearer_auth(&token)
            .json(&body)
    };
    let body =
        json!({ "text": "@anna_r Dalle 9 alle 17.", "reply": { "in_reply_to_tweet_id": asked } });
    let r = call(post(body.clone())).await;
    assert_eq!(r.status, 201);
    assert_contract("post", "/2/tweets", &r);
    let r = call(post(body)).await;
    assert_eq!(r.status, 403);
    assert_contract("post", "/2/tweets", &r);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("duplicate content")
    );
    assert_eq!(r.headers["content-type"], "application/problem+json");
    let r = call(post(json!({ "text": "x".repeat(281) }))).await;
    assert_eq!(r.status, 400);
    let r = call(post(json!({ "text": "ciao", "unknown": 1 }))).await;
    assert_eq!(
        r.status, 400,
        "a field the contract does not know is refused"
    );
    assert_eq!(d.violations().len(), 1);
    assert_eq!(d.posted().len(), 1);

    let dm = |to: &str| {
        http.post(format!(
            "{}/2/dm_conversations/with/{to}/messages",
            d.api_url()
        ))
        .bearer_auth(&token)
        .json(&json!({ "text": "Gentile Anna, ..." }))
    };
    let r = call(dm("42")).await;
    assert_eq!(r.status, 201);
    assert_contract(
        "post",
        "/2/dm_conversations/with/{participant_id}/messages",
        &r,
    );
    let r = call(dm("44")).await;
    assert_eq!(r.status, 403);
    assert_eq!(d.sent_dms().len(), 1);

    d.dm("42", "buongiorno");
    let r = call(
        http.get(format!("{}/2/dm_events", d.api_url()))
            .bearer_auth(&token)
            .query(&[
                (
                    "dm_event.fields",
                    "id,text,event_type,sender_id,created_at,dm_conversation_id",
                ),
                ("event_types", "MessageCreate"),
                ("expansions", "sender_id"),
            ]),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_contract("get", "/2/dm_events", &r);
    assert_eq!(r.body["data"][0]["text"], "buongiorno", "newest first");
}

#[tokio::test]
async fn exhausted_windows_answer_429_until_the_reset_and_faults_are_injected() {
    let d = XDouble::start(CLIENT, None).await;
    d.set_rate_limit(Endpoint::Mentions, 1, 60);
    let token = d.issue_access_token();
    let http = reqwest::Client::new();
    let r = call(http.get(mentions_url(&d)).bearer_auth(&token)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["x-rate-limit-remaining"], "0");
    let r = call(http.get(mentions_url(&d)).bearer_auth(&token)).await;
    assert_eq!(r.status, 429);
    assert_contract("get", "/2/users/{id}/mentions", &r);
    let reset: u64 = r.headers["x-rate-limit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(reset > now && reset <= now + 61);

    d.fail_next(
        Endpoint::DmEvents,
        Fault::Status(503, "over capacity".into()),
    );
    let r = call(
        http.get(format!("{}/2/dm_events", d.api_url()))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(r.status, 503);
    assert_contract("get", "/2/dm_events", &r);
    let r = call(
        http.get(format!("{}/2/dm_events", d.api_url()))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(r.status, 200, "a fault is used once");
}

#[tokio::test]
async fn refresh_tokens_are_single_use_and_access_tokens_expire() {
    let d = XDouble::start(CLIENT, Some(SECRET)).await;
    let http = reqwest::Client::new();
    let refresh = d.issue_refresh_token();
    let grant = |token: &str| {
        http.post(format!("{}/2/oauth2/token", d.api_url()))
            .basic_auth(CLIENT, Some(SECRET))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
    };
    let r = call(grant(&refresh)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["expires_in"], 7200);
    let access = r.body["access_token"].as_str().unwrap().to_string();
    assert_ne!(r.body["refresh_token"].as_str().unwrap(), refresh);
    let r = call(grant(&refresh)).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"], "invalid_grant");

    let r = call(http.get(mentions_url(&d)).bearer_auth(&access)).await;
    assert_eq!(r.status, 200);
    d.expire_access_tokens();
    let r = call(http.get(mentions_url(&d)).bearer_auth(&access)).await;
    assert_eq!(r.status, 401);
    assert_contract("get", "/2/users/{id}/mentions", &r);
}

#[tokio::test]
async fn retweets_and_replies_carry_their_references() {
    let d = XDouble::start(CLIENT, None).await;
    d.add_user("42", "anna_r", "Anna", true);
    let original = d.mention("42", "orari?");
    d.post(
        "42",
        "RT @URPMilano ciao",
        Reference::Retweeted(original.clone()),
    );
    let token = d.issue_access_token();
    let r = call(
        reqwest::Client::new()
            .get(mentions_url(&d))
            .bearer_auth(&token)
            .query(&[("tweet.fields", "referenced_tweets")]),
    )
    .await;
    assert_contract("get", "/2/users/{id}/mentions", &r);
    assert_eq!(
        r.body["data"][0]["referenced_tweets"][0]["type"],
        "retweeted"
    );
}
