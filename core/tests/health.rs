//! Channel health as the dispatcher and a poller report it: receiving and sending apart, so a
//! poller that works does not hide deliveries that all fail.

use std::sync::Arc;

use sportello_core::channel::{Channel, ChannelCaps, MemoryChannel, SendError};
use sportello_core::config::{DispatcherConfig, Texts};
use sportello_core::dispatcher::{Dispatcher, Round};
use sportello_core::health::Health;
use sportello_core::intake::Intake;
use sportello_core::policy::Policy;
use sportello_core::store::Store;
use sportello_core::testing::{TestDb, text};
use sportello_faq::{Matcher, MatcherParams, Synonyms};

#[tokio::test]
async fn failing_sends_keep_the_channel_degraded_while_its_poller_works() {
    for db in TestDb::both().await {
        let store: Store = db.store().await;
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
        let channels: Vec<Arc<dyn Channel>> = vec![channel.clone()];
        let config = DispatcherConfig {
            max_attempts: 10,
            base_delay_ms: 0,
            max_delay_ms: 0,
            ..DispatcherConfig::default()
        };
        let dispatcher = Dispatcher::new(
            store.clone(),
            channels,
            config,
            intake.outbox_ready(),
            health.clone(),
        );
        health.running("mem", true);
        intake.receive(text("1", "cesare", "ciao")).await.unwrap();
        channel.fail_next((0..3).map(|i| SendError::Transient(format!("HTTP 500 #{i}"))));
        for _ in 0..3 {
            // The poller keeps succeeding between the failed deliveries.
            health.ok("mem");
            // No delay between attempts: each round takes the row again.
            assert_eq!(
                dispatcher.round().await.unwrap(),
                Round::Worked(1),
                "{}",
                db.backend
            );
        }
        let s = &health.channels()["mem"];
        assert!(s.degraded(), "{} {s:?}", db.backend);
        assert_eq!(s.send.consecutive_errors, 3);
        assert_eq!(s.send.last_error.as_deref(), Some("HTTP 500 #2"));
        assert_eq!(s.receive.consecutive_errors, 0);
        assert!(s.consecutive_errors > 0, "the summary field shows it too");
        assert_eq!(dispatcher.round().await.unwrap(), Round::Worked(1));
        assert_eq!(channel.sent().len(), 1);
        let s = &health.channels()["mem"];
        assert!(!s.degraded(), "{s:?}");
        assert!(s.send.last_ok_ms.is_some());
    }
}
