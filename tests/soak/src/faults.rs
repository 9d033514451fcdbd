//! The fault schedule: kill -9 and restart, SIGSTOP beyond the lease and SIGCONT, the
//! database's connections cut (or its server restarted), and windows in which the doubles
//! answer 429, 5xx or hang.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sportello_doubles::telegram::Fault;
use sportello_doubles::x::{Endpoint, Fault as XFault};
use tokio::sync::Mutex;

use crate::cluster::{Cluster, Database};
use crate::{FaultRecord, Run, sleep_until};

/// One planned fault.
#[derive(Debug, Clone)]
enum Planned {
    Kill,
    Stop,
    Database,
    Window(usize),
}

/// The plan: (seconds since the start, fault), in order.
fn plan(run: &Run) -> Vec<(f64, Planned)> {
    let args = &run.args;
    let mut rng = StdRng::seed_from_u64(args.seed.wrapping_mul(31) + 7);
    let end = args.load_secs() - 5.0;
    let mut plan = Vec::new();
    if args.no_faults {
        return plan;
    }
    if args.ci {
        plan.push((end * 0.35, Planned::Kill));
        if args.double_windows > 0 {
            plan.push((end * 0.7, Planned::Window(1)));
        }
        return plan;
    }
    let (low, high) = args
        .kill_every
        .split_once('-')
        .and_then(|(a, b)| Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?)))
        .unwrap_or((30.0, 60.0));
    let mut t = rng.gen_range(low..=high.max(low));
    while t < end {
        plan.push((t, Planned::Kill));
        t += rng.gen_range(low..=high.max(low));
    }
    for i in 0..args.stops {
        plan.push((
            end * (i as f64 + 0.6) / (args.stops as f64 + 0.2),
            Planned::Stop,
        ));
    }
    for i in 0..args.db_faults {
        plan.push((
            end * (i as f64 + 0.5) / args.db_faults as f64,
            Planned::Database,
        ));
    }
    for i in 0..args.double_windows {
        plan.push((
            end * (i as f64 + 0.3) / args.double_windows as f64,
            Planned::Window(i),
        ));
    }
    plan.sort_by(|a, b| a.0.total_cmp(&b.0));
    plan
}

/// Runs the plan; returns when the load stops.
pub async fn schedule(
    run: Arc<Run>,
    cluster: Arc<Mutex<Cluster>>,
    database: Database,
) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(run.args.seed.wrapping_add(99));
    let n = run.args.n();
    for (at, fault) in plan(&run) {
        sleep_until(&run, at).await;
        if run.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            break;
        }
        match fault {
            Planned::Kill => {
                let i = rng.gen_range(0..n);
                let start = run.now();
                cluster.lock().await.kill(i);
                println!("soak: {start:.0} s: kill -9 of instance {}", i + 1);
                tokio::time::sleep(Duration::from_secs(1)).await;
                let end = run.now();
                let mut c = cluster.lock().await;
                c.start(i).await?;
                drop(c);
                record(&run, "kill -9", Some(i), start, end, true);
            }
            Planned::Stop => {
                let i = rng.gen_range(0..n);
                let start = run.now();
                cluster.lock().await.signal_stop(i, true);
                println!("soak: {start:.0} s: SIGSTOP of instance {}", i + 1);
                tokio::time::sleep(Duration::from_secs(run.args.lease_secs + 3)).await;
                cluster.lock().await.signal_stop(i, false);
                let end = run.now();
                record(&run, "SIGSTOP beyond the lease", Some(i), start, end, true);
            }
            Planned::Database => {
                let start = run.now();
                let what = if run.args.pg_restart {
                    database.restart_server()?;
                    "PostgreSQL restart"
                } else {
                    let cut = database.cut_connections().await?;
                    println!("soak: {start:.0} s: {cut} database connections cut");
                    "database connections cut"
                };
                let end = run.now();
                record(&run, what, None, start, end, false);
            }
            Planned::Window(k) => {
                let run = Arc::clone(&run);
                tokio::spawn(async move { window(&run, k).await });
            }
        }
    }
    Ok(())
}

/// A window of the doubles' faults, the `k`-th kind in turn.
async fn window(run: &Run, k: usize) {
    let secs = run.args.window_secs;
    let start = run.now();
    let (what, unknowable) = match k % 5 {
        0 => {
            run.telegram.inject(
                "sendMessage",
                Fault::TooManyRequests { retry_after: 2 },
                usize::MAX / 2,
            );
            ("Telegram sendMessage 429 (retry_after 2)", false)
        }
        1 => {
            run.telegram
                .inject("sendMessage", Fault::ServerError(502), usize::MAX / 2);
            ("Telegram sendMessage 502", false)
        }
        2 => {
            // Longer than the bot's send timeout. The double's handler ends with the
            // connection the client closed, so a timed-out call is not delivered; no duplicate
            // is excused by these windows (a late delivery would count as beyond).
            run.telegram
                .inject("sendMessage", Fault::Slow(Duration::from_secs(20)), 5);
            ("Telegram sendMessage hangs 20 s (5 calls)", false)
        }
        3 => {
            run.telegram
                .inject("getUpdates", Fault::ServerError(500), usize::MAX / 2);
            ("Telegram getUpdates 500", false)
        }
        _ => {
            for _ in 0..5 {
                run.x.fail_next(
                    Endpoint::CreateTweet,
                    XFault::Status(503, "Service Unavailable".into()),
                );
                run.x.fail_next(
                    Endpoint::Mentions,
                    XFault::Status(503, "Service Unavailable".into()),
                );
            }
            ("X 503 (5 posts, 5 polls)", false)
        }
    };
    println!("soak: {start:.0} s: {what} for {secs} s");
    tokio::time::sleep(Duration::from_secs(secs)).await;
    if k % 5 != 2 {
        run.telegram.clear_faults();
    }
    let end = run.now();
    record(run, what, None, start, end, unknowable);
}

fn record(run: &Run, what: &str, instance: Option<usize>, start: f64, end: f64, unknowable: bool) {
    run.faults.lock().unwrap().push(FaultRecord {
        what: what.into(),
        instance,
        start,
        end,
        healthy_at: None,
        unknowable,
    });
}
