//! The dispatcher on paused tokio time: exact retry-after, backoff with jitter, failure after
//! the last attempt, refusal by the platform, and the worker loop.

use std::sync::Arc;
use std::time::Duration;

use sportello_core::channel::{Behaviour, Channel, ChannelCaps, MemoryChannel, SendError};
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
    rig_on(config, true).await
}

/// A rig on paused time (`paused`), or on real time for tests whose sends wait on timers
/// while the database works (paused time would jump ahead during every write).
async fn rig_on(config: DispatcherConfig, paused: bool) -> Rig {
    let db = TestDb::sqlite();
    let store = Store::connect(&db.url, 1, Duration::from_secs(5))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let store = if paused {
        store.close().await;
        let store = Store::connect_for_paused_time(&db.url, Clock::new())
            .await
            .unwrap();
        // Time stands still from here on, except when the test advances it.
        tokio::time::pause();
        store
    } else {
        store
    };
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

/// A send that hangs (a platform that accepts the connection and never answers) holds up
/// nothing but itself: a citizen who writes meanwhile is answered while it still hangs, and
/// the hung send is given up at half the lease and retried, delivered once.
#[tokio::test]
async fn a_hung_send_holds_up_nothing_but_itself_and_is_bounded_by_the_lease() {
    let config = DispatcherConfig {
        lease_secs: 2,
        base_delay_ms: 100,
        ..config()
    };
    let lease = Duration::from_secs(config.lease_secs as u64);
    let r = rig_on(config, false).await;
    r.channel
        .script("gino", Behaviour::Hang(Duration::from_secs(3_600)));
    let stop = CancellationToken::new();
    let receiving = tokio::spawn(r.channel.clone().run(r.intake.clone(), stop.clone()));
    let worker = tokio::spawn(r.dispatcher.run(stop.clone()));
    r.channel.push(text("1", "gino", "ciao"));
    while r.channel.attempts().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let hung_at = r.store.now_ms();
    r.channel.push(text("2", "ilaria", "ciao"));
    let sent = r.channel.wait_sent(1).await;
    assert_eq!(sent[0].message.recipient, "ilaria");
    assert!(
        sent[0].at_ms - hung_at < lease.as_millis() as i64 / 2,
        "answered while the other send still hung"
    );
    let gino = r.store.outbox_of(1).await.unwrap()[0].clone();
    assert_eq!(gino.state, "sending", "{gino:?}");

    // The hung send is given up at half the lease, then retried and delivered once.
    let sent = r.channel.wait_sent(2).await;
    let gino_sent: Vec<_> = sent
        .iter()
        .filter(|s| s.message.recipient == "gino")
        .collect();
    assert_eq!(gino_sent.len(), 1);
    assert!(gino_sent[0].at_ms - hung_at >= lease.as_millis() as i64 / 2);
    assert!(gino_sent[0].at_ms - hung_at < lease.as_millis() as i64 * 2);
    let gino = r.store.outbox_of(1).await.unwrap()[0].clone();
    assert_eq!((gino.state.as_str(), gino.attempts), ("sent", 2));
    stop.cancel();
    receiving.await.unwrap().unwrap();
    worker.await.unwrap();
}

/// A channel that panics while sending loses nothing: the row goes back to be retried with
/// a reason operators can read, instead of staying claimed until its lease runs out.
#[tokio::test]
async fn a_send_that_panics_is_retried_not_dropped() {
    let r = rig(config()).await;
    r.intake.receive(text("1", "lara", "ciao")).await.unwrap();
    r.channel.script("lara", Behaviour::Panic);
    assert_eq!(r.dispatcher.round().await.unwrap(), Round::Worked(1));
    let row = r.store.outbox_of(1).await.unwrap()[0].clone();
    assert_eq!(row.state, "pending", "{row:?}");
    assert!(
        row.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("failed unexpectedly"),
        "{row:?}"
    );
    tokio::time::advance(Duration::from_millis(
        (row.due_at - r.store.now_ms()).max(0) as u64,
    ))
    .await;
    assert_eq!(r.dispatcher.round().await.unwrap(), Round::Worked(1));
    assert_eq!(r.channel.sent().len(), 1);
    assert_eq!(r.store.outbox_of(1).await.unwrap()[0].state, "sent");
}
