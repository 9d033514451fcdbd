//! The dispatcher on paused tokio time: exact retry-after, backoff with jitter, failure after
//! the last attempt, refusal by the platform, and the worker loop.

use std::sync::Arc;
use std::time::Duration;

use sportello_core::channel::{Channel, ChannelCaps, MemoryChannel, SendError};
use sportello_core::clock::Clock;
use sportello_core::config::{DispatcherConfig, Texts};
use sportello_core::dispatcher::{Dispatcher, Round, backoff};
use sportello_core::health::Health;
use sportello_core::intake::Intake;
use sportello_core::policy::Policy;
use sportello_core::store::Store;
use sportello_core::testing::{TestDb, text};
use sportello_faq::{Matcher, MatcherParams, Synonyms};
use tokio_util::sync::CancellationToken;

struct Rig {
    store: Store,
    intake: Arc<Intake>,
    channel: Arc<MemoryChannel>,
    dispatcher: Dispatcher,
    _db: TestDb,
}

async fn rig(config: DispatcherConfig) -> Rig {
    let db = TestDb::sqlite();
    let store = Store::connect(&db.url, 1, Duration::from_secs(5))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.close().await;
    let store = Store::connect_for_paused_time(&db.url, Clock::new())
        .await
        .unwrap();
    // Time stands still from here on, except when the test advances it.
    tokio::time::pause();
    let matcher = Matcher::new(
        &sportello_core::testing::sheets(),
        &Synonyms::default(),
        MatcherParams::default(),
    );
    let health = Arc::new(Health::new(store.clock()));
    let intake = Arc::new(Intake::new(
        store.clone(),
        Arc::new(Policy::new(
            matcher,
            &sportello_core::testing::offices(),
            Texts::default(),
        )),
        health.clone(),
    ));
    let channel = MemoryChannel::new("mem", ChannelCaps::default());
    channel.use_clock(store.clock());
    let channels: Vec<Arc<dyn Channel>> = vec![channel.clone()];
    let dispatcher = Dispatcher::new(
        store.clone(),
        channels,
        config,
        intake.outbox_ready(),
        health,
    );
    Rig {
        store,
        intake,
        channel,
        dispatcher,
        _db: db,
    }
}

fn config() -> DispatcherConfig {
    DispatcherConfig {
        max_attempts: 4,
        base_delay_ms: 1_000,
        max_delay_ms: 60_000,
        ..DispatcherConfig::default()
    }
}

#[tokio::test]
async fn retry_after_is_honoured_to_the_millisecond() {
    let r = rig(config()).await;
    r.intake.receive(text("1", "ada", "ciao")).await.unwrap();
    r.channel
        .fail_next([SendError::RetryAfter(Duration::from_secs(7))]);
    let failed_at = r.store.now_ms();
    assert_eq!(r.dispatcher.round().await.unwrap(), Round::Worked(1));
    let row = &r.store.outbox_of(1).await.unwrap()[0];
    assert_eq!(row.due_at - failed_at, 7_000);
    assert!(
        row.last_error
            .as_deref()
            .unwrap()
            .contains("retry after 7s")
    );

    tokio::time::advance(Duration::from_millis(6_999)).await;
    assert_eq!(
        r.dispatcher.round().await.unwrap(),
        Round::EmptyQueue,
        "not a millisecond early"
    );
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(r.dispatcher.round().await.unwrap(), Round::Worked(1));
    let sent = r.channel.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].at_ms - failed_at, 7_000);
    assert_eq!(r.store.outbox_of(1).await.unwrap()[0].state, "sent");
}

#[tokio::test]
async fn temporary_failures_back_off_exponentially_with_jitter_then_deliver() {
    let r = rig(config()).await;
    r.intake.receive(text("1", "bruno", "ciao")).await.unwrap();
    r.channel.fail_next([
        SendError::Transient("502 Bad Gateway".into()),
        SendError::Transient("timeout".into()),
    ]);
    for (attempt, full) in [(1, 1_000), (2, 2_000)] {
        let now = r.store.now_ms();
        assert_eq!(r.dispatcher.round().await.unwrap(), Round::Worked(1));
        let row = &r.store.outbox_of(1).await.unwrap()[0];
        let delay = row.due_at - now;
        assert!(
            (full / 2..=full).contains(&delay),
            "attempt {attempt}: delay {delay} ms not in [{}, {full}]",
            full / 2
        );
        assert_eq!(row.attempts, attempt);
        tokio::time::advance(Duration::from_millis(delay as u64)).await;
    }
    assert_eq!(r.dispatcher.round().await.unwrap(), Round::Worked(1));
    assert_eq!(r.channel.sent().len(), 1);
    assert_eq!(r.channel.attempts().len(), 3);
}

#[test]
fn backoff_doubles_up_to_the_cap_and_stays_within_its_jitter() {
    let base = Duration::from_secs(1);
    let max = Duration::from_secs(10);
    for attempt in 1..=10 {
        let full = (1_000u64 << (attempt - 1)).min(10_000);
        for _ in 0..50 {
            let d = backoff(attempt, base, max).as_millis() as u64;
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d}");
        }
    }
}

#[tokio::test]
async fn after_the_last_attempt_the_row_fails_with_the_platforms_reason() {
    let r = rig(config()).await;
    r.intake.receive(text("1", "cesare", "ciao")).await.unwrap();
    r.channel
        .fail_next((0..4).map(|i| SendError::Transient(format!("503 Service Unavailable #{i}"))));
    for _ in 0..4 {
        assert_eq!(r.dispatcher.round().await.unwrap(), Round::Worked(1));
        tokio::time::advance(Duration::from_secs(60)).await;
    }
    assert_eq!(r.dispatcher.round().await.unwrap(), Round::EmptyQueue);
    let row = &r.store.outbox_of(1).await.unwrap()[0];
    assert_eq!((row.state.as_str(), row.attempts), ("failed", 4));
    assert_eq!(
        row.last_error.as_deref(),
        Some("503 Service Unavailable #3")
    );
    assert_eq!(r.store.outbox_stats().await.unwrap().failed, 1);
    assert!(r.channel.sent().is_empty());
}

#[tokio::test]
async fn a_refusal_fails_at_once_and_marks_a_blocked_citizen_unreachable() {
    let r = rig(config()).await;
    r.intake.receive(text("1", "dario", "ciao")).await.unwrap();
    r.channel.fail_next([SendError::Permanent {
        reason: "Forbidden: bot was blocked by the user".into(),
        unreachable: true,
    }]);
    assert_eq!(r.dispatcher.round().await.unwrap(), Round::Worked(1));
    let row = &r.store.outbox_of(1).await.unwrap()[0];
    assert_eq!(row.state, "failed");
    assert_eq!(row.attempts, 1);
    assert!(r.store.conversation(1).await.unwrap().unreachable);
}

#[tokio::test]
async fn a_channel_feeds_intake_and_the_worker_delivers_until_shutdown() {
    let r = rig(config()).await;
    let stop = CancellationToken::new();
    let receiving = tokio::spawn(r.channel.clone().run(r.intake.clone(), stop.clone()));
    let worker = tokio::spawn(r.dispatcher.run(stop.clone()));
    r.channel.push(text("1", "elena", "ciao"));
    r.channel.push(text("2", "fabio", "grazie"));
    let sent = r.channel.wait_sent(2).await;
    let mut recipients: Vec<&str> = sent.iter().map(|s| s.message.recipient.as_str()).collect();
    recipients.sort();
    assert_eq!(recipients, vec!["elena", "fabio"]);
    assert_eq!(
        r.store.message_count().await.unwrap(),
        4,
        "two messages in, two replies out"
    );
    stop.cancel();
    receiving.await.unwrap().unwrap();
    worker.await.unwrap();
}
