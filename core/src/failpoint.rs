//! Crash points for tests of "nothing lost, nothing twice".
//!
//! `SPORTELLO_FAILPOINT=NAME` (or `NAME:N` for the N-th time) makes the process abort, as a
//! power cut would, when it reaches the point called `NAME`. Unset, a check is one atomic load.
//! Points: `intake.before_commit`, `intake.after_commit`, `telegram.after_part` (a part of a
//! split message delivered and recorded, the next not yet sent).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

static TARGET: OnceLock<Option<(String, u64)>> = OnceLock::new();
static HITS: AtomicU64 = AtomicU64::new(0);

/// Abort the process if `name` is the configured crash point (and this is its N-th hit).
pub fn hit(name: &str) {
    let target = TARGET.get_or_init(|| {
        let spec = std::env::var("SPORTELLO_FAILPOINT").ok()?;
        let (point, nth) = match spec.split_once(':') {
            Some((p, n)) => (p.to_string(), n.parse().unwrap_or(1)),
            None => (spec, 1),
        };
        Some((point, nth))
    });
    if let Some((point, nth)) = target
        && point == name
        && HITS.fetch_add(1, Ordering::SeqCst) + 1 == *nth
    {
        eprintln!("failpoint {name} reached: aborting");
        std::process::abort();
    }
}
