//! The X channel end to end: the real `sportello serve` process against the X API double,
//! which checks requests against the contract, counts weighted characters itself and keeps
//! the rate-limit windows.

mod support;
mod tokens;

use sportello_bots::x::text;
use sportello_doubles::x::{Endpoint, Fault, Reference, weight};
use support::{ANNA, BRUNO, CARLA, Office, PATIENCE, eventually};

const PINK_CARD: &str = "come richiedo la pink card";

#[tokio::test]
async fn a_mention_gets_a_public_threaded_reply_addressed_to_the_citizen() {
    let mut office = Office::new().await;
    office.start().await;
    let asked = office.double.mention(ANNA, PINK_CARD);
    let reply = office.posts(1).await[0].clone();
    assert_eq!(
        reply.in_reply_to.as_deref(),
        Some(asked.as_str()),
        "threaded under the question"
    );
    assert!(reply.text.starts_with("@anna_r "), "{}", reply.text);
    assert!(reply.text.contains("Pink Card"), "{}", reply.text);
    assert!(weight::weighted_len(&reply.text) <= 280);
    assert!(
        office.double.sent_dms().is_empty(),
        "an answer to a mention is public"
    );
    office.assert_no_violations();
    let health = office.health().await;
    let x = &health["channels"]["x"];
    assert_eq!(x["running"], true, "{health}");
    assert_eq!(x["details"]["state"], "polling", "{health}");
    let budget = &x["details"]["rate_limits"]["mentions"];
    assert_eq!(budget["limit"], 180, "{health}");
    assert!(budget["remaining"].as_u64().unwrap() < 180, "{health}");
    // The whole log, once the process has exited and closed it.
    let (code, logs) = office.terminate();
    assert_eq!(code, Some(0), "{logs}");
    assert!(!logs.contains(support::CLIENT_SECRET));
}

#[tokio::test]
async fn two_citizens_asking_the_same_thing_get_replies_that_differ() {
    let mut office = Office::new().await;
    office.start().await;
    office.double.mention(ANNA, PINK_CARD);
    office.posts(1).await;
    office.double.mention(BRUNO, PINK_CARD);
    let posts = office.posts(2).await;
    assert_ne!(posts[0].text, posts[1].text);
    assert!(posts[1].text.starts_with("@bruno_b "), "{}", posts[1].text);
    // The same citizen asking again: X refuses the identical post, and the reply goes out
    // with the conversation's reference instead of failing.
    office.double.mention(BRUNO, PINK_CARD);
    let posts = office.posts(3).await;
    assert!(posts[2].text.contains("rif. "), "{}", posts[2].text);
    let failed = office
        .count("select count(*) from outbox where state = 'failed'")
        .await;
    assert_eq!(failed, 0);
    let refused = office
        .requests(Endpoint::CreateTweet)
        .iter()
        .filter(|r| r.status == 403)
        .count();
    assert_eq!(refused, 1, "one duplicate, then the varied reply");
}

#[test]
fn the_280_count_agrees_with_x_on_urls_emoji_and_accented_text() {
    let samples = [
        "Carta d'identità: perché serve l'appuntamento? https://www.comune.milano.it/servizi/carta-di-identita-elettronica-cie",
        "Grazie! 👍 👎 🇮🇹 👩‍💻 ok",
        "città, però, più, già — “citazione” … fine",
        "日本語のテキスト mixed with Latin",
        "due link https://a.it e http://example.org/una/pagina/molto/lunga/davvero",
    ];
    for s in samples {
        assert_eq!(text::weighted_len(s), weight::weighted_len(s), "{s}");
    }
    let long = format!(
        "{} https://www.cittametropolitana.mi.it/pari-opportunita/pink-card",
        "Per la Pink Card servono documento, tessera sanitaria e modulo firmato; è gratuita e perché no 👍. ".repeat(5)
    );
    let fitted = text::fit(&long, text::LIMIT);
    assert!(
        weight::weighted_len(&fitted) <= 280,
        "{}",
        weight::weighted_len(&fitted)
    );
    assert!(weight::weighted_len(&fitted) > 250, "uses the room it has");
    assert!(fitted.ends_with(" https://www.cittametropolitana.mi.it/pari-opportunita/pink-card"));
    let words: Vec<&str> = long.split_whitespace().collect();
    let body = fitted.rsplit_once(' ').unwrap().0.trim_end_matches('…');
    for w in body.split_whitespace() {
        assert!(words.contains(&w), "{w:?} was cut mid-word");
    }
}

#[tokio::test]
async fn rate_limits_are_honoured_to_the_second_and_a_429_waits_for_the_reset() {
    let mut office = Office::new().await;
    office.double.set_rate_limit(Endpoint::Mentions, 2, 4);
    office.start().await;
    eventually(
        "five polls of mentions",
        || async { office.requests(Endpoint::Mentions).len() >= 5 },
        || office.logs(),
    )
    .await;
    let polls = office.requests(Endpoint::Mentions);
    assert!(
        polls.iter().all(|r| r.status == 200),
        "never refused: {polls:#?}"
    );
    // Windows of 4 s open at the first request: the third request may come only at the reset.
    let reset = polls[0].at_ms / 1000 + 4;
    assert!(
        polls[2].at_ms / 1000 >= reset,
        "{} < {reset}",
        polls[2].at_ms / 1000
    );

    office.double.set_rate_limit(Endpoint::Mentions, 100, 900);
    office
        .double
        .fail_next(Endpoint::Mentions, Fault::RateLimited(3));
    let before = office.requests(Endpoint::Mentions).len();
    eventually(
        "a poll after the 429",
        || async { office.requests(Endpoint::Mentions).len() >= before + 2 },
        || office.logs(),
    )
    .await;
    let polls = office.requests(Endpoint::Mentions);
    let refused = &polls[before];
    assert_eq!(refused.status, 429);
    let after = &polls[before + 1];
    assert!(
        after.at_ms / 1000 >= refused.at_ms / 1000 + 3,
        "waited for the reset: {} -> {}",
        refused.at_ms,
        after.at_ms
    );
}

#[tokio::test]
async fn a_mention_with_an_unfindable_author_is_still_answered() {
    let mut office = Office::new().await;
    office.double.add_user("2999", "sospeso", "Sospeso", true);
    office.double.hide_user("2999");
    office.start().await;
    let asked = office.double.mention("2999", PINK_CARD);
    let reply = office.posts(1).await[0].clone();
    assert_eq!(reply.in_reply_to.as_deref(), Some(asked.as_str()));
    let name: String =
        sqlx::query_scalar("select display_name from contacts where external_id = '2999'")
            .fetch_one(office.store().await.pool())
            .await
            .unwrap();
    assert_eq!(name, "2999", "the partial error left only the id");
}

#[tokio::test]
async fn since_id_survives_a_restart_and_nothing_is_answered_twice() {
    let mut office = Office::new().await;
    office.start().await;
    let first = office.double.mention(ANNA, PINK_CARD);
    office.posts(1).await;
    office.stop();
    office.double.mention(BRUNO, "orari dell'URP");
    office.start_only().await;
    let posts = office.posts(2).await;
    assert!(posts[1].text.starts_with("@bruno_b"), "{}", posts[1].text);
    let resumed = office.requests(Endpoint::Mentions);
    assert!(
        resumed
            .iter()
            .any(|r| r.param("since_id") == Some(first.as_str()))
    );
    office.settled().await;
    assert_eq!(
        office.double.posted().len(),
        2,
        "the first mention is not answered again"
    );
}

async fn crash_and_restart(failpoint: &str) {
    let mut office = Office::new().await;
    office.start().await;
    office.env("SPORTELLO_FAILPOINT", failpoint);
    office.stop();
    office.start_only().await;
    let asked = office.double.mention(ANNA, PINK_CARD);
    let status = office.wait_exit().await;
    assert!(
        !status.success(),
        "the failpoint aborted the process as kill -9 would"
    );
    office.env("SPORTELLO_FAILPOINT", "");
    office.start_only().await;
    let posts = office.posts(1).await;
    assert_eq!(posts[0].in_reply_to.as_deref(), Some(asked.as_str()));
    office.settled().await;
    assert_eq!(
        office.double.posted().len(),
        1,
        "{failpoint}: exactly one reply"
    );
    let stored = office
        .count("select count(*) from messages where direction = 'in'")
        .await;
    assert_eq!(stored, 1, "{failpoint}: stored once");
}

#[tokio::test]
async fn a_crash_between_fetch_and_commit_gives_exactly_one_reply() {
    crash_and_restart("intake.before_commit").await;
}

#[tokio::test]
async fn a_crash_right_after_the_commit_gives_exactly_one_reply() {
    crash_and_restart("intake.after_commit").await;
}

#[tokio::test]
async fn two_hundred_fifty_mentions_are_paged_and_stored_oldest_first() {
    let mut office = Office::new().await;
    office
        .double
        .set_rate_limit(Endpoint::CreateTweet, 1000, 900);
    office.start().await;
    office.stop();
    let mut asked = Vec::new();
    for i in 0..250 {
        let user = format!("{}", 3000 + i);
        office
            .double
            .add_user(&user, &format!("cittadino{i}"), "Cittadino", false);
        asked.push(
            office
                .double
                .mention(&user, &format!("orari dell'URP, domanda {i}")),
        );
    }
    office.start_only().await;
    eventually(
        "250 mentions stored",
        || async {
            office
                .count("select count(*) from messages where direction = 'in'")
                .await
                == 250
        },
        || office.logs(),
    )
    .await;
    let stored: Vec<String> =
        sqlx::query_scalar("select platform_id from messages where direction = 'in' order by id")
            .fetch_all(office.store().await.pool())
            .await
            .unwrap();
    assert_eq!(stored, asked, "every mention, oldest first");
    let pages: Vec<_> = office
        .requests(Endpoint::Mentions)
        .into_iter()
        .filter(|r| r.param("max_results") == Some("100"))
        .collect();
    assert!(
        pages
            .iter()
            .filter(|r| r.param("pagination_token").is_some())
            .count()
            >= 2,
        "{pages:#?}"
    );
    office.posts(250).await;
    office.assert_no_violations();
}

#[tokio::test]
async fn a_direct_message_is_answered_by_direct_message() {
    let mut office = Office::new().await;
    office.start().await;
    office.double.dm(ANNA, PINK_CARD);
    let dms = office.double.wait_dms(1, PATIENCE).await;
    assert_eq!(dms.len(), 1, "{}", office.logs());
    assert_eq!(dms[0].participant_id, ANNA);
    assert!(dms[0].text.contains("Pink Card"), "{}", dms[0].text);
    assert!(office.double.posted().is_empty(), "nothing public");
    // The citizen's later mention joins the same conversation (threads per participant).
    office.double.mention(ANNA, "grazie");
    office.posts(1).await;
    let conversations = office.count("select count(*) from conversations").await;
    assert_eq!(conversations, 1);
}

#[tokio::test]
async fn a_handoff_answers_publicly_only_with_an_invitation_to_dm_and_the_operator_answers_by_dm() {
    let mut office = Office::new().await;
    office.start().await;
    office.double.mention(
        ANNA,
        "voglio parlare con un operatore, il mio codice fiscale è RSSNNA80A41F205X",
    );
    let public = office.posts(1).await[0].clone();
    assert!(public.text.contains("messaggio diretto"), "{}", public.text);
    assert!(
        !public.text.contains("RSSNNA"),
        "no personal data in public"
    );
    let desk = office.operator_desk().await;
    let store = desk.store();
    let conversation: i64 = sqlx::query_scalar("select id from conversations")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let operator = store
        .add_user(
            "op1",
            sportello_core::model::Role::Operator,
            "operator-password",
        )
        .await
        .unwrap();
    store.claim(conversation, operator, "op1").await.unwrap();
    assert!(
        !store.x_reply_is_public(conversation).await.unwrap(),
        "Anna accepts DMs"
    );
    let console = sportello_testkit::login_at(&office.base, "op1", "operator-password").await;
    let page = console
        .get(&format!("/conversations/{conversation}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("reply-text"),
        "the operator's page has the reply box"
    );
    assert!(
        !page.contains("Risposta pubblica"),
        "no warning when the answer goes by DM"
    );
    desk.operator_reply(
        conversation,
        operator,
        "op1",
        "Gentile Anna, la sua pratica RSSNNA è in lavorazione.",
    )
    .await
    .unwrap();
    let dms = office.double.wait_dms(1, PATIENCE).await;
    assert_eq!(dms.len(), 1, "{}", office.logs());
    assert!(dms[0].text.contains("pratica"));
    assert_eq!(
        office.double.posted().len(),
        1,
        "the operator's answer is not public"
    );
}

#[tokio::test]
async fn an_operator_answer_to_a_citizen_without_dms_is_a_public_reply_within_280() {
    let mut office = Office::new().await;
    office.start().await;
    let asked = office.double.mention(CARLA, "operatore");
    office.posts(1).await;
    let desk = office.operator_desk().await;
    let store = desk.store();
    let conversation: i64 = sqlx::query_scalar("select id from conversations")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let operator = store
        .add_user(
            "op1",
            sportello_core::model::Role::Operator,
            "operator-password",
        )
        .await
        .unwrap();
    store.claim(conversation, operator, "op1").await.unwrap();
    assert!(
        store.x_reply_is_public(conversation).await.unwrap(),
        "the console is told the answer will be public"
    );
    let console = sportello_testkit::login_at(&office.base, "op1", "operator-password").await;
    let page = console
        .get(&format!("/conversations/{conversation}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Risposta pubblica"),
        "the operator is warned before answering in public"
    );
    assert!(
        page.contains(r#"data-count="x""#),
        "the box counts as X does"
    );
    let long = "Buongiorno, per la sua richiesta può rivolgersi allo sportello di via Vivaio 1 dal lunedì al venerdì. ".repeat(4);
    desk.operator_reply(conversation, operator, "op1", &long)
        .await
        .unwrap();
    let posts = office.posts(2).await;
    assert_eq!(posts[1].in_reply_to.as_deref(), Some(asked.as_str()));
    assert!(
        posts[1].text.starts_with("@carla_v Buongiorno"),
        "{}",
        posts[1].text
    );
    assert!(weight::weighted_len(&posts[1].text) <= 280);
    assert!(office.double.sent_dms().is_empty());
}

#[tokio::test]
async fn a_reply_with_a_thumb_to_the_answer_is_feedback() {
    let mut office = Office::new().await;
    office.start().await;
    office.double.mention(ANNA, PINK_CARD);
    let answer = office.posts(1).await[0].clone();
    office.double.post(
        ANNA,
        &format!("@{} 👍", sportello_doubles::x::ACCOUNT_HANDLE),
        Reference::RepliedTo(answer.id),
    );
    eventually(
        "the 👍 is recorded",
        || async {
            office
                .count("select count(*) from feedback where kind = 'useful'")
                .await
                == 1
        },
        || office.logs(),
    )
    .await;
}

#[tokio::test]
async fn oauth1_signed_requests_are_accepted_as_the_alternative() {
    let mut office = Office::new().await;
    office
        .double
        .accept_oauth1("ck", "cs-NEVER-LOGGED", "at", "ats-NEVER-LOGGED");
    office
        .env("SPORTELLO_X__AUTH", "oauth1")
        .env("SPORTELLO_X__CONSUMER_KEY", "ck")
        .env("SPORTELLO_X__CONSUMER_SECRET", "cs-NEVER-LOGGED")
        .env("SPORTELLO_X__ACCESS_TOKEN", "at")
        .env("SPORTELLO_X__ACCESS_TOKEN_SECRET", "ats-NEVER-LOGGED");
    office.start().await;
    office.double.mention(ANNA, PINK_CARD);
    office.posts(1).await;
    assert!(
        office
            .double
            .requests()
            .iter()
            .filter(|r| r.endpoint != Endpoint::Token)
            .all(|r| r.auth == "oauth1")
    );
    assert_eq!(
        office.double.tokens_issued(),
        1,
        "no OAuth 2.0 refresh, only the test's first token"
    );
    // The whole log, once the process has exited and closed it.
    let (code, logs) = office.terminate();
    assert_eq!(code, Some(0), "{logs}");
    assert!(!logs.contains("NEVER-LOGGED"));
}
