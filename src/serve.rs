//! `sportello serve`: migrations, sheets, channels, dispatcher and console in one process,
//! stopped gracefully by SIGTERM or Ctrl-C.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sportello_core::calendar::Calendar;
use sportello_core::channel::Channel;
use sportello_core::config::Config;
use sportello_core::dispatcher::Dispatcher;
use sportello_core::health::Health;
use sportello_core::intake::Intake;
use sportello_core::model::Role;
use sportello_core::policy::Policy;
use sportello_core::store::Store;
use tokio_util::sync::CancellationToken;

use crate::setup;

/// How long in-flight work may take to finish after a stop signal.
const DRAIN: Duration = Duration::from_secs(10);

/// Run until SIGTERM or Ctrl-C.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    // Refuse channels this build cannot run before touching the database.
    let built = sportello_bots::build(&config)?;
    let channels: Vec<Arc<dyn Channel>> = built.all.clone();
    let store = setup::open_store(&config).await?;
    let offices = setup::offices(&config)?;
    store.sync_offices(&offices).await?;
    if store.sheet_count().await? == 0 {
        let sheets = setup::load_sheets(&config.sheets.path, &offices).with_context(|| {
            format!(
                "cannot import the sheets of sheets.path = {}",
                config.sheets.path.display()
            )
        })?;
        let n = store.save_sheets(&sheets, "import").await?;
        tracing::info!(sheets = n, path = %config.sheets.path.display(), "imported sheets into an empty store");
    }
    ensure_admin(&store).await?;
    let sheets = store.published_sheets().await?;
    let matcher = setup::matcher(&config, &sheets)?;
    tracing::info!(sheets = matcher.len(), "matcher ready");
    let policy = Arc::new(Policy::new(
        matcher,
        &store.offices().await?,
        config.texts.clone(),
    ));
    let health = Arc::new(Health::new(store.clock()));
    let intake = Arc::new(Intake::new(store.clone(), policy, health.clone()));
    for channel in &channels {
        intake.register(channel.name(), channel.caps());
    }

    let shutdown = CancellationToken::new();
    let mut tasks = tokio::task::JoinSet::new();
    for channel in &channels {
        let (channel, intake, stop, health) = (
            channel.clone(),
            intake.clone(),
            shutdown.clone(),
            health.clone(),
        );
        tasks.spawn(async move {
            let name = channel.name().to_string();
            health.running(&name, true);
            if let Err(e) = channel.run(intake, stop).await {
                tracing::error!(channel = %name, error = %e, "channel stopped");
                health.error(&name, &e.to_string());
            }
            health.running(&name, false);
        });
    }
    let dispatcher = Dispatcher::new(
        store.clone(),
        channels.clone(),
        config.dispatcher.clone(),
        intake.outbox_ready(),
        health,
    );
    tasks.spawn(dispatcher.run(shutdown.clone()));
    let calendar = config.office.calendar()?;
    tasks.spawn(maintain(store.clone(), calendar.clone(), shutdown.clone()));

    let matcher_config = config.clone();
    let state = sportello_console::AppState::new(
        intake.clone(),
        channels.iter().map(|c| c.name().to_string()).collect(),
        config.console.clone(),
        Arc::new(move |sheets| {
            setup::matcher(&matcher_config, sheets).map_err(|e| format!("{e:#}"))
        }),
        shutdown.clone(),
    )
    .with_calendar(calendar);
    let listener = tokio::net::TcpListener::bind(&config.console.bind)
        .await
        .with_context(|| format!("cannot listen on console.bind = {}", config.console.bind))?;
    tracing::info!(address = %config.console.bind, database = %setup::redacted_url(&config.database.url), "sportello is serving");
    let stop = shutdown.clone();
    let app = sportello_console::router(state)
        .merge(built.routes(&intake))
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        stop.cancelled().await;
    });
    let server = tokio::spawn(async move { server.await });

    wait_for_signal().await;
    tracing::info!("stopping: finishing in-flight work");
    shutdown.cancel();
    let drained = tokio::time::timeout(DRAIN, async {
        while tasks.join_next().await.is_some() {}
        let _ = server.await;
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "in-flight work did not finish in time; undelivered messages stay in the outbox"
        );
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Keep the planner's statistics fresh (at start and then hourly) and the statistics' daily
/// rollup written (the last year, for each UTC offset the office's days had in it: a minute
/// after start, leaving the start to the channels, and then hourly).
async fn maintain(store: Store, calendar: Calendar, shutdown: CancellationToken) {
    const YEAR: i64 = 366;
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    let mut rollup = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(60),
        Duration::from_secs(3600),
    );
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {
                if let Err(e) = store.optimize().await {
                    tracing::warn!(error = %e, "refreshing the planner's statistics failed");
                }
            }
            _ = rollup.tick() => {
                let today = calendar.local_day(store.now_ms());
                let mut offsets: Vec<i64> =
                    (today - YEAR..=today).map(|d| calendar.zone().offset_ms(d)).collect();
                offsets.sort_unstable();
                offsets.dedup();
                for offset in offsets {
                    if let Err(e) = store.warm_stats(offset, YEAR).await {
                        tracing::warn!(error = %e, "writing the statistics' daily rollup failed");
                    }
                }
            }
        }
    }
}

/// On first start with no users, create `admin` with `SPORTELLO_ADMIN_PASSWORD`, or with a
/// random password printed once to the log.
async fn ensure_admin(store: &Store) -> anyhow::Result<()> {
    if store.user_count().await? > 0 {
        return Ok(());
    }
    let (password, generated) = match std::env::var("SPORTELLO_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => {
            use rand::Rng;
            let p: String = rand::thread_rng()
                .sample_iter(&rand::distributions::Alphanumeric)
                .take(20)
                .map(char::from)
                .collect();
            (p, true)
        }
    };
    store
        .add_user("admin", Role::Admin, &password)
        .await
        .context("cannot create the first admin user")?;
    if generated {
        // Printed once, on purpose: this is the only way to learn the first password.
        tracing::warn!(username = "admin", password = %password, "created the first admin user; change this password");
    } else {
        tracing::info!(
            username = "admin",
            "created the first admin user from SPORTELLO_ADMIN_PASSWORD"
        );
    }
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
