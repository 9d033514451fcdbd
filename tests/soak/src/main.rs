//! The soak test of issue 16: several `sportello serve` processes on one PostgreSQL database
//! (or one on SQLite) under a realistic load from the Telegram and X doubles and the web chat,
//! with scripted operators, faults on a schedule (kill -9, SIGSTOP beyond the dispatcher
//! lease, the database's connections cut or its server restarted, the doubles failing in
//! windows), and at the end a checker that reads the store and the doubles and counts what was
//! lost, duplicated or misdelivered. It writes a Markdown report and an SVG plot, and exits
//! non-zero when a goal is missed.
//!
//! `scripts/soak` builds the release binaries and runs this; `--help` lists the options.

mod check;
mod cluster;
mod faults;
mod load;
mod report;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use sportello_doubles::telegram::TelegramDouble;
use sportello_doubles::x::XDouble;

/// The bot token the Telegram double and the instances share.
pub const TOKEN: &str = "424242:SOAK-token-never-logged";
/// The X app the double and the instances share.
pub const X_CLIENT_ID: &str = "sportello-soak-app";
/// Its secret.
pub const X_CLIENT_SECRET: &str = "soak-client-secret";
/// The admin password of the soak database.
pub const ADMIN_PASSWORD: &str = "soak-admin-password";

/// Command-line options.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "sportello-soak",
    about = "Several sportello serve processes on one database, under load and faults, checked at the end"
)]
pub struct Args {
    /// Inbound messages to send in all (every channel).
    #[arg(long, default_value_t = 100_000)]
    pub messages: u64,
    /// Minutes over which they are sent.
    #[arg(long, default_value_t = 10.0)]
    pub minutes: f64,
    /// Distinct citizens writing.
    #[arg(long, default_value_t = 5_000)]
    pub citizens: u64,
    /// `sportello serve` processes (1 with --sqlite).
    #[arg(long)]
    pub instances: Option<usize>,
    /// Scripted operators answering through the JSON API.
    #[arg(long, default_value_t = 4)]
    pub operators: usize,
    /// Run one instance on a SQLite file instead of PostgreSQL.
    #[arg(long)]
    pub sqlite: bool,
    /// No faults at all.
    #[arg(long)]
    pub no_faults: bool,
    /// Seconds between two kill -9, at random within this range ("30-60").
    #[arg(long, default_value = "30-60")]
    pub kill_every: String,
    /// SIGSTOP an instance this many times (for lease + 3 s each).
    #[arg(long, default_value_t = 2)]
    pub stops: usize,
    /// Cut the database's connections this many times.
    #[arg(long, default_value_t = 1)]
    pub db_faults: usize,
    /// Restart the PostgreSQL server itself (pg_ctlcluster) instead of terminating the soak
    /// database's backends: other programs using that server see the restart too.
    #[arg(long)]
    pub pg_restart: bool,
    /// Fault windows of the doubles (429, 5xx, timeouts, getUpdates 5xx, X 503), in turn.
    #[arg(long, default_value_t = 5)]
    pub double_windows: usize,
    /// Seconds each double fault window lasts.
    #[arg(long, default_value_t = 10)]
    pub window_secs: u64,
    /// The dispatcher lease of the instances, seconds.
    #[arg(long, default_value_t = 5)]
    pub lease_secs: u64,
    /// Longest wait, in seconds, for the instances to drain after the load.
    #[arg(long, default_value_t = 300)]
    pub drain_secs: u64,
    /// Use the sentence encoder too (CPU-heavy); by default the lexical matcher answers.
    #[arg(long)]
    pub semantic: bool,
    /// The CI version: 10,000 messages in 2 minutes, two instances, one kill -9, one double
    /// outage; asserts counts, not times.
    #[arg(long)]
    pub ci: bool,
    /// Where the report, the plot and the logs go.
    #[arg(long, default_value = "target/soak")]
    pub out: PathBuf,
    /// The `sportello` binary.
    #[arg(long, default_value = "target/release/sportello")]
    pub binary: PathBuf,
    /// Random seed (load and fault schedule).
    #[arg(long, default_value_t = 16)]
    pub seed: u64,
    /// Keep the soak database at the end.
    #[arg(long)]
    pub keep: bool,
    /// After the drain, plant faults the checker must find: one message delivered twice, one
    /// operator reply delivered to another citizen, one inbound update never stored (the run
    /// must then fail, naming each).
    #[arg(long)]
    pub plant: bool,
}

impl Args {
    /// Applies `--ci` and `--sqlite` defaults.
    fn settle(&mut self) {
        if self.ci {
            self.messages = self.messages.min(10_000);
            self.minutes = self.minutes.min(2.0);
            self.citizens = self.citizens.min(1_000);
            self.instances.get_or_insert(2);
            self.stops = 0;
            self.db_faults = 0;
            self.double_windows = self.double_windows.min(1);
            self.operators = self.operators.min(3);
            self.drain_secs = self.drain_secs.min(180);
        }
        if self.sqlite {
            self.instances = Some(1);
            self.stops = 0;
            self.db_faults = 0;
        }
        self.instances.get_or_insert(3);
    }

    /// The number of instances.
    pub fn n(&self) -> usize {
        self.instances.unwrap_or(3)
    }

    /// Seconds the load lasts.
    pub fn load_secs(&self) -> f64 {
        self.minutes * 60.0
    }
}

/// What kind of inbound message the load sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A question from a sample sheet, in other words.
    Question,
    /// A question no sheet answers.
    Unanswerable,
    /// "ok", "grazie", /start, /help.
    SmallTalk,
    /// A request for a person.
    Person,
    /// A document or a photo.
    Attachment,
    /// A choice of a clarification, or "Parla con un operatore", pressed.
    Button,
    /// 👍 or 👎 pressed.
    Feedback,
    /// The same message delivered again by the platform.
    Repeat,
}

impl Kind {
    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Question => "question",
            Kind::Unanswerable => "unanswerable",
            Kind::SmallTalk => "small talk",
            Kind::Person => "request for a person",
            Kind::Attachment => "attachment",
            Kind::Button => "button press",
            Kind::Feedback => "👍/👎",
            Kind::Repeat => "repeat (redelivery)",
        }
    }
}

/// One inbound message the load sent.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Its channel.
    pub channel: &'static str,
    /// The id the store keys it by (`chat:message` and `cb:ID` on Telegram, the tweet id or
    /// `dm:ID` on X, the message id on the web chat).
    pub platform_id: String,
    /// What it was.
    pub kind: Kind,
    /// Seconds since the start when the platform accepted it.
    pub at: f64,
}

/// An operator's reply accepted by the API (201), or sent without an answer (`confirmed`
/// false: the instance died meanwhile).
#[derive(Debug, Clone)]
pub struct OperatorReply {
    /// The conversation.
    pub conversation: i64,
    /// A unique mark in its text.
    pub mark: String,
    /// 201 received.
    pub confirmed: bool,
}

/// A fault as it happened.
#[derive(Debug, Clone)]
pub struct FaultRecord {
    /// What it was ("kill -9", "SIGSTOP", "database connections cut", "Telegram 429", …).
    pub what: String,
    /// The instance it hit, if one.
    pub instance: Option<usize>,
    /// Seconds since the start.
    pub start: f64,
    /// When it ended (the process restarted or continued, the window closed).
    pub end: f64,
    /// When every instance answered /healthz 200 again after `end`.
    pub healthy_at: Option<f64>,
    /// Whether a send cut by this fault may have been accepted by the platform unknown to the
    /// store (kill -9, SIGSTOP).
    pub unknowable: bool,
}

/// Everything the parts of the run share.
pub struct Run {
    /// The options.
    pub args: Args,
    /// When the run started.
    pub t0: Instant,
    /// The Telegram double.
    pub telegram: TelegramDouble,
    /// The X double.
    pub x: XDouble,
    /// Every inbound message sent.
    pub sent: Mutex<Vec<Sent>>,
    /// Operators' replies.
    pub replies: Mutex<Vec<OperatorReply>>,
    /// Operators' actions by name.
    pub actions: Mutex<HashMap<&'static str, u64>>,
    /// Faults.
    pub faults: Mutex<Vec<FaultRecord>>,
    /// /healthz samples: (seconds, instance, 200).
    pub health: Mutex<Vec<(f64, usize, bool)>>,
    /// Per instance, the inbound and outbound messages counted by its /metrics.
    pub throughput: Mutex<Vec<(u64, u64)>>,
    /// Set when the load stops.
    pub stopping: AtomicBool,
    /// Web chat posts still waiting for an answer.
    pub webchat_open: AtomicU64,
    /// Web chat posts that never got a 200 (retries exhausted).
    pub webchat_given_up: AtomicU64,
    /// The highest Telegram update id pushed.
    pub max_update: AtomicI64,
    /// Claims the API confirmed: (conversation, unix ms when the 200 arrived, after the
    /// claim's commit).
    pub claims: Mutex<Vec<(i64, i64)>>,
}

impl Run {
    /// Seconds since the start.
    pub fn now(&self) -> f64 {
        self.t0.elapsed().as_secs_f64()
    }

    /// Seconds since the start of an instant.
    pub fn secs(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.t0).as_secs_f64()
    }

    /// Records an inbound message.
    pub fn record(&self, channel: &'static str, platform_id: String, kind: Kind) {
        let at = self.now();
        self.sent.lock().unwrap().push(Sent {
            channel,
            platform_id,
            kind,
            at,
        });
    }

    /// Counts an operator's action.
    pub fn act(&self, name: &'static str) {
        *self.actions.lock().unwrap().entry(name).or_default() += 1;
    }
}

#[tokio::main]
async fn main() {
    let code = match run().await {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("soak: {e:#}");
            2
        }
    };
    std::process::exit(code);
}

/// The whole soak; whether every goal was met.
async fn run() -> Result<bool> {
    let mut args = Args::parse();
    args.settle();
    sqlx::any::install_default_drivers();
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {:?}", args.out))?;
    let binary = std::fs::canonicalize(&args.binary).with_context(|| {
        format!(
            "the sportello binary {:?} (cargo build --release)",
            args.binary
        )
    })?;

    let telegram = TelegramDouble::start(TOKEN).await;
    let x = XDouble::start(X_CLIENT_ID, Some(X_CLIENT_SECRET)).await;
    for endpoint in [
        sportello_doubles::x::Endpoint::Mentions,
        sportello_doubles::x::Endpoint::DmEvents,
        sportello_doubles::x::Endpoint::CreateTweet,
        sportello_doubles::x::Endpoint::CreateDm,
    ] {
        x.set_rate_limit(endpoint, 1_000_000, 900);
    }
    let database = cluster::Database::create(&args).await?;
    let result = soak(&args, &binary, &database, telegram, x).await;
    // Dropped whatever happened, unless asked to keep it.
    if !args.keep {
        database.drop_it().await?;
    }
    result
}

/// The soak on a created database; whether every goal was met.
async fn soak(
    args: &Args,
    binary: &std::path::Path,
    database: &cluster::Database,
    telegram: TelegramDouble,
    x: XDouble,
) -> Result<bool> {
    println!(
        "soak: {} messages in {} min from {} citizens, {} instance(s) on {}, faults {}",
        args.messages,
        args.minutes,
        args.citizens,
        args.n(),
        if args.sqlite { "SQLite" } else { "PostgreSQL" },
        if args.no_faults { "off" } else { "on" }
    );
    let mut cluster = cluster::Cluster::prepare(args, binary, database, &telegram, &x).await?;
    let tokens = cluster.operators(args.operators)?;
    cluster.start_all().await?;
    wait_for_x_start(database).await?;
    let run = Arc::new(Run {
        t0: Instant::now(),
        telegram,
        x,
        sent: Mutex::default(),
        replies: Mutex::default(),
        actions: Mutex::default(),
        faults: Mutex::default(),
        health: Mutex::default(),
        throughput: Mutex::new(vec![(0, 0); args.n()]),
        stopping: AtomicBool::new(false),
        webchat_open: AtomicU64::new(0),
        webchat_given_up: AtomicU64::new(0),
        max_update: AtomicI64::new(0),
        claims: Mutex::default(),
        args: args.clone(),
    });
    let cluster = Arc::new(tokio::sync::Mutex::new(cluster));
    let bases = cluster.lock().await.bases();

    let monitor = tokio::spawn(cluster::monitor(Arc::clone(&run), bases.clone()));
    let load = tokio::spawn(load::generate(Arc::clone(&run), bases.clone()));
    let operators: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, token)| tokio::spawn(load::operator(Arc::clone(&run), bases.clone(), i, token)))
        .collect();
    let fault_task = tokio::spawn(faults::schedule(
        Arc::clone(&run),
        Arc::clone(&cluster),
        database.clone(),
    ));

    load.await.context("the load task")?;
    run.stopping.store(true, Ordering::SeqCst);
    fault_task.await.context("the fault task")??;
    for o in operators {
        let _ = o.await;
    }
    let load_end = run.now();
    println!("soak: load done at {load_end:.0} s; draining");
    let drained = check::drain(&run, database).await?;
    let drain_end = run.now();
    println!("soak: drained={drained} at {drain_end:.0} s; checking");
    report::recoveries(&run);
    if args.plant {
        check::plant(&run).await?;
    }
    let findings = check::check(&run, database, drained).await?;
    monitor.abort();
    let mut cluster = cluster.lock().await;
    cluster.stop_all();
    let passed = report::write(&run, &findings, load_end, drain_end, &cluster.describe())?;
    drop(cluster);
    Ok(passed)
}

/// Sleeps until `secs` after the start.
pub async fn sleep_until(run: &Run, secs: f64) {
    let target = run.t0 + Duration::from_secs_f64(secs.max(0.0));
    tokio::time::sleep_until(target.into()).await;
}

/// Waits until the office's X poller has taken its start (a first start takes only the
/// mentions and DMs that come after its first poll, which follows the poller lock's grace):
/// load sent before that would be skipped by design, not lost.
async fn wait_for_x_start(database: &cluster::Database) -> Result<()> {
    let deadline = Instant::now() + std::time::Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Ok(pool) = database.pool().await {
            let cursor: Option<String> =
                sqlx::query_scalar("select cursor from channel_cursors where channel = 'x'")
                    .fetch_optional(&pool)
                    .await
                    .ok()
                    .flatten();
            pool.close().await;
            if cursor.is_some_and(|c| c.contains("m:") && c.contains("d:")) {
                return Ok(());
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    anyhow::bail!("the X poller did not take its start within 120 s")
}
