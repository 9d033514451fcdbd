//! OAuth 2.0 tokens: rotation mid-run and across restarts, a refused refresh token, one
//! refresher at a time on PostgreSQL, and `sportello x authorize`.

use std::process::Command;
use std::time::Duration;

use base64::Engine;
use sportello_bots::x::oauth2::{App, AuthError, Tokens};
use sportello_core::config::{Secret, XConfig};
use sportello_core::store::Store;
use sportello_doubles::x::{ACCOUNT_ID, Endpoint, XDouble};

use crate::support::{ANNA, BRUNO, CLIENT_ID, CLIENT_SECRET, Office, eventually};

const QUESTION: &str = "come richiedo la pink card";

#[tokio::test]
async fn an_expired_token_is_refreshed_mid_run_and_the_rotated_pair_is_used_after_a_restart() {
    let mut office = Office::new().await;
    office.start().await;
    office.double.mention(ANNA, QUESTION);
    office.posts(1).await;
    office.double.expire_access_tokens();
    office.double.mention(BRUNO, QUESTION);
    office.posts(2).await;
    // Whichever poll (mentions or direct messages) came first met the expired token.
    assert!(
        office
            .double
            .requests()
            .iter()
            .any(|r| r.endpoint != Endpoint::Token && r.status == 401),
        "the expiry was met mid-run"
    );
    let refreshes = office.requests(Endpoint::Token);
    assert!(
        refreshes.len() >= 2 && refreshes.iter().all(|r| r.status == 200),
        "{refreshes:#?}"
    );

    // The store holds the pair X expects next, not the one first given.
    let stored = office
        .store()
        .await
        .x_tokens(ACCOUNT_ID)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(stored.refresh_token.expose(), office.first_refresh);

    office.stop();
    office.double.expire_access_tokens();
    office.double.mention(ANNA, "orari dell'URP");
    office.start_only().await;
    office.posts(3).await;
    let refreshes = office.requests(Endpoint::Token);
    assert!(
        refreshes.iter().all(|r| r.status == 200),
        "the first token was never reused: {refreshes:#?}"
    );
    // The whole log, once the process has exited and closed it.
    let (code, logs) = office.terminate();
    assert_eq!(code, Some(0), "{logs}");
    assert!(!logs.contains(CLIENT_SECRET));
    assert!(!logs.contains(stored.refresh_token.expose()));
}

#[tokio::test]
async fn a_refused_refresh_token_stops_the_channel_visibly_and_says_what_to_run() {
    let mut office = Office::new().await;
    office.start().await;
    office.double.revoke_refresh_tokens();
    office.double.expire_access_tokens();
    eventually(
        "the channel stops",
        || async { office.health().await["channels"]["x"]["running"] == false },
        || office.logs(),
    )
    .await;
    let health = office.health().await;
    assert_eq!(health["status"], "degraded");
    let x = &health["channels"]["x"];
    assert!(
        x["details"]["state"]
            .as_str()
            .unwrap()
            .starts_with("stopped"),
        "{health}"
    );
    assert!(
        x["last_error"]
            .as_str()
            .unwrap()
            .contains("sportello x authorize"),
        "{health}"
    );
    assert!(office.logs().contains("invalid_grant"));
    assert!(office.logs().contains("sportello x authorize --code CODE"));
    // A restart does not spend the refused token again: it stops at once.
    office.stop();
    let before = office.requests(Endpoint::Token).len();
    office.start_only().await;
    eventually(
        "the channel stops again",
        || async { office.health().await["channels"]["x"]["running"] == false },
        || office.logs(),
    )
    .await;
    assert_eq!(office.requests(Endpoint::Token).len(), before);
}

fn config(double: &XDouble) -> XConfig {
    XConfig {
        enabled: true,
        api_url: double.api_url(),
        user_id: ACCOUNT_ID.into(),
        client_id: CLIENT_ID.into(),
        client_secret: Some(Secret::new(CLIENT_SECRET.into())),
        ..XConfig::default()
    }
}

/// Two instances find the access token expired at once: one refreshes, the other uses the
/// stored pair, and the single-use refresh token is spent once.
async fn one_refresher_at_a_time(url: &str) {
    let double = XDouble::start(CLIENT_ID, Some(CLIENT_SECRET)).await;
    let config = config(&double);
    let store = Store::connect(url, 8, Duration::from_secs(10))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let other = Store::connect(url, 8, Duration::from_secs(10))
        .await
        .unwrap();
    store
        .import_x_refresh_token(ACCOUNT_ID, &Secret::new(double.issue_refresh_token()))
        .await
        .unwrap();
    // Slow answers: without the lock, both instances would spend the same refresh token.
    double.delay_token_answers(Duration::from_millis(300));
    let http = reqwest::Client::new();
    let a = Tokens::new(App::new(&config, http.clone()), ACCOUNT_ID);
    let b = Tokens::new(App::new(&config, http), ACCOUNT_ID);
    let (ta, tb) = tokio::join!(a.access(&store, None), b.access(&other, None));
    let (ta, tb) = (ta.unwrap(), tb.unwrap());
    assert_eq!(ta.expose(), tb.expose(), "both use the one new pair");
    assert_eq!(
        double.tokens_issued(),
        2,
        "the first token, then one refresh"
    );
    assert!(double.requests().iter().all(|r| r.status == 200));
    // A refused token is remembered and not tried again.
    double.revoke_refresh_tokens();
    double.expire_access_tokens();
    let stale = ta.expose().to_string();
    assert_eq!(
        a.access(&store, Some(&stale)).await,
        Err(AuthError::Refused)
    );
    assert_eq!(
        b.access(&other, Some(&stale)).await,
        Err(AuthError::Refused)
    );
    assert_eq!(
        double.requests().len(),
        2,
        "the refused token was sent once"
    );
}

#[tokio::test]
async fn one_instance_refreshes_at_a_time_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    one_refresher_at_a_time(&format!("sqlite://{}", dir.path().join("t.db").display())).await;
}

#[tokio::test]
async fn one_instance_refreshes_at_a_time_on_postgres() {
    let db = sportello_testkit::TestDb::postgres().await;
    one_refresher_at_a_time(&db.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_authorize_prints_the_pkce_address_and_stores_the_pair_for_the_code() {
    let double = XDouble::start(CLIENT_ID, Some(CLIENT_SECRET)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("s.db").display());
    let run = |code: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sportello"));
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["x", "authorize"])
            .env("SPORTELLO_DATABASE__URL", &db)
            .env("SPORTELLO_X__API_URL", double.api_url())
            .env("SPORTELLO_X__USER_ID", ACCOUNT_ID)
            .env("SPORTELLO_X__CLIENT_ID", CLIENT_ID)
            .env("SPORTELLO_X__CLIENT_SECRET", CLIENT_SECRET);
        if let Some(code) = code {
            cmd.args(["--code", code]);
        }
        cmd.output().unwrap()
    };
    let out = run(None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let url = text
        .lines()
        .find(|l| l.starts_with("https://x.com/i/oauth2/authorize?"))
        .expect(&text);
    assert!(url.contains("code_challenge_method=S256"));
    assert!(url.contains("offline.access"));
    assert!(!text.contains(CLIENT_SECRET));
    let challenge = url
        .split("code_challenge=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert_eq!(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(challenge)
            .unwrap()
            .len(),
        32
    );
    let code = double.approve(challenge);
    let out = run(Some(&code));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = Store::connect(&db, 1, Duration::from_secs(5))
        .await
        .unwrap();
    let stored = store.x_tokens(ACCOUNT_ID).await.unwrap().unwrap();
    assert!(!stored.refused && !stored.access_token.expose().is_empty());
    // A code is single use: trying it again fails with a message, not a secret.
    let out = run(Some(&code));
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains(CLIENT_SECRET));
}
