//! A child process for the crash tests: a platform that redelivers everything it has not
//! seen acknowledged, feeding intake.
//!
//! Usage: `intake_child DB_URL ACK_FILE N` — messages 0..N are "on the platform"; the
//! platform's acknowledged offset lives in ACK_FILE and is advanced only after intake has
//! returned, as a real adapter confirms an update only after the commit. Run it with
//! `SPORTELLO_FAILPOINT=intake.before_commit:K` (or `after_commit:K`, or
//! `SPORTELLO_CHILD_CRASH_AFTER_ACK=K`) to die mid-way like a killed process.

use std::sync::Arc;
use std::time::Duration;

use sportello_core::config::Texts;
use sportello_core::health::Health;
use sportello_core::intake::Intake;
use sportello_core::model::Inbound;
use sportello_core::policy::Policy;
use sportello_core::store::Store;
use sportello_faq::{Matcher, MatcherParams, Synonyms};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (url, ack_file, n): (&str, &str, u64) = (&args[1], &args[2], args[3].parse().unwrap());
    let crash_after_ack: Option<u64> = std::env::var("SPORTELLO_CHILD_CRASH_AFTER_ACK")
        .ok()
        .map(|v| v.parse().unwrap());
    let store = Store::connect(url, 2, Duration::from_secs(10))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let matcher = Matcher::new(&[], &Synonyms::default(), MatcherParams::default());
    let policy = Arc::new(Policy::new(matcher, &[], Texts::default()));
    let intake = Intake::new(store.clone(), policy, Arc::new(Health::new(store.clock())));
    let acked: u64 = std::fs::read_to_string(ack_file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    for i in acked..n {
        let mut m = Inbound::text(
            "crash",
            format!("u{i}"),
            &format!("citizen{}", i % 3),
            &format!("thread{}", i % 3),
            format!("messaggio {i}"),
        );
        m.cursor = Some(i.to_string());
        intake.receive(m).await.unwrap();
        std::fs::write(ack_file, (i + 1).to_string()).unwrap();
        if crash_after_ack == Some(i + 1) {
            std::process::abort();
        }
    }
    store.close().await;
}
