//! The one assembly of Sportello: [`App::build`] opens the store, keeps the sheets and the
//! first admin in place, builds the knowledge, policy, intake and the enabled channels, and
//! [`App::spawn`] starts the channels, the dispatcher, the maintenance tasks and the console
//! on the listener it was given. `sportello serve`, the end-to-end tests and the benchmarks
//! all go through here, so they run the same service.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sportello_core::calendar::Calendar;
use sportello_core::channel::Channel;
use sportello_core::config::Config;
use sportello_core::dispatcher::Dispatcher;
use sportello_core::health::Health;
use sportello_core::intake::Intake;
use sportello_core::knowledge::Knowledge;
use sportello_core::model::Role;
use sportello_core::policy::Policy;
use sportello_core::resume::{ResumeKey, ResumeLinks};
use sportello_core::store::Store;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::setup;

/// How long in-flight work may take to finish after a stop signal.
const DRAIN: Duration = Duration::from_secs(10);

/// What the environment gives `serve` beyond the configuration.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The first admin's password, used only when the store has no users; a random one is
    /// logged once when `None`.
    pub admin_password: Option<String>,
}

impl Options {
    /// From the environment: `SPORTELLO_ADMIN_PASSWORD`.
    pub fn from_env() -> Self {
        Self {
            admin_password: std::env::var("SPORTELLO_ADMIN_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty()),
        }
    }
}

/// The whole service, built and not yet running.
pub struct App {
    config: Config,
    intake: Arc<Intake>,
    channels: sportello_bots::Channels,
    calendar: Calendar,
    listener: TcpListener,
    address: SocketAddr,
}

impl App {
    /// Build the service for `config`, to serve on `listener` (already bound, so a test can
    /// bind port 0 and know its address before anything starts), with the admin password
    /// from the environment.
    pub async fn build(config: Config, listener: TcpListener) -> anyhow::Result<Self> {
        Self::build_with(config, listener, Options::from_env()).await
    }

    /// [`App::build`] with explicit options.
    pub async fn build_with(
        config: Config,
        listener: TcpListener,
        options: Options,
    ) -> anyhow::Result<Self> {
        // Refuse channels this build cannot run before touching the database.
        let channels = sportello_bots::build(&config)?;
        let calendar = config.office.calendar()?;
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
        ensure_admin(&store, options.admin_password).await?;
        let knowledge = Knowledge::load(
            store.clone(),
            setup::synonyms(&config)?,
            config.matcher.clone(),
        )
        .await?;
        tracing::info!(sheets = knowledge.matcher().len(), "matcher ready");
        let policy = Arc::new(
            Policy::with_knowledge(Arc::new(knowledge), config.texts.clone())
                .with_calendar(calendar.clone()),
        );
        let health = Arc::new(Health::new(store.clock()));
        let mut intake = Intake::new(store.clone(), policy, health);
        if config.webchat.enabled {
            let key = ResumeKey::load(&store)
                .await
                .context("cannot read the web chat's server secret")?;
            intake = intake.with_resume_links(ResumeLinks::new(
                key,
                config.webchat.resume_days,
                &config.console.public_url,
            ));
        }
        let intake = Arc::new(intake);
        // Every channel this build knows, enabled or not: old conversations of a channel
        // turned off still get replies written to fit it, and the console previews all.
        for (name, caps) in sportello_bots::known_caps() {
            intake.register(name, caps);
        }
        for channel in &channels.all {
            intake.register(channel.name(), channel.caps());
            intake.activate(channel.name());
        }
        let address = listener
            .local_addr()
            .context("cannot read the console's address")?;
        Ok(Self {
            config,
            intake,
            channels,
            calendar,
            listener,
            address,
        })
    }

    /// The address the console listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Start everything: the channels' receivers, the dispatcher, the matcher's watcher, the
    /// maintenance tasks and the console.
    pub fn spawn(self) -> Running {
        let store = self.intake.store().clone();
        let shutdown = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let channels: Vec<Arc<dyn Channel>> = self.channels.all.clone();
        let health = self.intake.health().clone();
        for channel in &channels {
            let (channel, intake, stop, health) = (
                channel.clone(),
                self.intake.clone(),
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
            self.config.dispatcher.clone(),
            self.intake.outbox_ready(),
            health,
        );
        tasks.spawn(dispatcher.run(shutdown.clone()));
        tasks.spawn(self.intake.policy().knowledge().clone().watch(
            Duration::from_millis(self.config.console.live_poll_ms.max(50)),
            shutdown.clone(),
        ));
        tasks.spawn(maintain(store, self.calendar.clone(), shutdown.clone()));

        let state = sportello_console::AppState::new(
            self.intake.clone(),
            channels.iter().map(|c| c.name().to_string()).collect(),
            self.config.console.clone(),
            shutdown.clone(),
        )
        .with_calendar(self.calendar)
        .with_site(self.config.site.clone());
        let routes = sportello_console::edge::layer(
            sportello_console::router(state).merge(self.channels.routes(&self.intake)),
            &self.config.console,
        )
        .into_make_service_with_connect_info::<SocketAddr>();
        let stop = shutdown.clone();
        let server = tokio::spawn(async move {
            let served = axum::serve(self.listener, routes).with_graceful_shutdown(async move {
                stop.cancelled().await;
            });
            if let Err(e) = served.await {
                tracing::error!(error = %e, "the console server failed");
            }
        });
        Running {
            address: self.address,
            intake: self.intake,
            shutdown,
            tasks,
            server,
        }
    }
}

/// The service, running.
pub struct Running {
    address: SocketAddr,
    intake: Arc<Intake>,
    shutdown: CancellationToken,
    tasks: JoinSet<()>,
    server: tokio::task::JoinHandle<()>,
}

impl Running {
    /// The address the console listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The store.
    pub fn store(&self) -> &Store {
        self.intake.store()
    }

    /// Intake, with the policy, knowledge and health it holds.
    pub fn intake(&self) -> &Arc<Intake> {
        &self.intake
    }

    /// Ask every task to stop, without waiting (for a `Drop`).
    pub fn cancel(&self) {
        self.shutdown.cancel();
    }

    /// Stop: cancel every task, let in-flight work finish for up to ten seconds, close the
    /// store. Returns whether everything finished in time.
    pub async fn stop(mut self) -> bool {
        self.shutdown.cancel();
        let drained = tokio::time::timeout(DRAIN, async {
            while self.tasks.join_next().await.is_some() {}
            let _ = (&mut self.server).await;
        })
        .await
        .is_ok();
        if !drained {
            tracing::warn!(
                "in-flight work did not finish in time; undelivered messages stay in the outbox"
            );
            self.tasks.abort_all();
            self.server.abort();
        }
        self.intake.store().close().await;
        drained
    }
}

/// `sportello serve`: run until SIGTERM or Ctrl-C.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = TcpListener::bind(&config.console.bind)
        .await
        .with_context(|| format!("cannot listen on console.bind = {}", config.console.bind))?;
    let database = setup::redacted_url(&config.database.url);
    let app = App::build(config, listener).await?;
    // The address actually bound: with port 0 in `console.bind` this is how a supervisor (or
    // a test) learns it.
    tracing::info!(address = %app.address(), %database, "sportello is serving");
    let running = app.spawn();
    wait_for_signal().await;
    tracing::info!("stopping: finishing in-flight work");
    running.stop().await;
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

/// On first start with no users, create `admin` with the given password, or with a random
/// password printed once to the log.
async fn ensure_admin(store: &Store, password: Option<String>) -> anyhow::Result<()> {
    if store.user_count().await? > 0 {
        return Ok(());
    }
    let (password, generated) = match password {
        Some(p) => (p, false),
        None => (
            sportello_core::secret::random_token()[..20].to_string(),
            true,
        ),
    };
    store
        .add_user("admin", Role::Admin, &password)
        .await
        .context("cannot create the first admin user")?;
    // How to change it: in the console, or from the command line.
    let how = "change it in the console under \"Il mio profilo\" (/account), \
               or with `sportello user passwd admin` (the new password read from standard input)";
    if generated {
        // Printed once, on purpose: this is the only way to learn the first password. It
        // must be changed at the first login.
        store.set_password("admin", &password, true).await?;
        tracing::warn!(username = "admin", password = %password, "created the first admin user with a temporary password; {how}");
    } else {
        tracing::info!(
            username = "admin",
            "created the first admin user from SPORTELLO_ADMIN_PASSWORD; {how}"
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
