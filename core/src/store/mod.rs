//! The store: one `sqlx` pool on SQLite or PostgreSQL, chosen by the URL at run time.
//!
//! Queries are written once with `$N` parameters, which both backends accept, and run through
//! sqlx's `Any` driver; the few statements that differ (row claiming) switch on [`Backend`].
//! Times are unix milliseconds in integer columns.
//!
//! SQLite allows one writer at a time. Instead of letting concurrent transactions collide and
//! sleep in SQLite's busy handler, write transactions on SQLite take an in-process gate first,
//! so they queue in tokio and never fail with `SQLITE_BUSY` within one process.

mod accounts;
mod conversations;
mod credentials;
mod desk;
mod drafts;
mod email;
mod embeddings;
mod learn;
pub mod notify;
mod office_mail;
mod outbox;
mod queue;
mod reach;
mod routing;
mod satisfaction;
mod server_secrets;
mod sessions;
mod sheets;
mod stats;
mod transcript;
mod two_factor;
mod users;
mod x;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::postgres::PgConnection;
use sqlx::{Any, AnyPool, Connection, Executor, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::error::Result;

pub use conversations::{ConversationRow, MessageRow};
pub(crate) use conversations::{resolve_in, transfer_in};
pub(crate) use desk::{OfficeMail, notify_in};
pub use outbox::{OutboxRow, OutboxStats};
pub use reach::Reach;
pub use sheets::StoredSheet;
pub use stats::{FeedbackCounts, Handled, MessageCount, StatsPlan, StatsRange};
pub use transcript::TranscriptEntry;
pub use users::{Principal, UserRow};
pub use x::{XOutgoing, XTokens, XUser};

pub use accounts::{AccountRow, AuditRow, TokenRow};
pub use credentials::DISPLAY_NAME_MAX;
pub use desk::{NoteRow, OfficeNotificationRow, PhrasingRow};
pub use drafts::{DraftRow, RevisionRow};
pub use email::{EmailAttachmentRow, NewEmailAttachment};
pub use learn::{LearnVerdict, UnansweredRow};
pub use office_mail::OfficeMailOutcome;
pub use queue::ConversationFilter;
pub use routing::{HandoffReason, QueueCounts, Triage, is_question};
pub use satisfaction::{FeedbackRow, Satisfaction};
pub use sessions::{NewSession, SessionRow};
pub use two_factor::{RECOVERY_CODES, TwoFactor, totp_code};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database the store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The backend a `database.url` selects.
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    gate: Option<Arc<Mutex<()>>>,
    clock: Clock,
    /// One statistics rollup fill at a time in this process (see [`stats`]).
    rollup: Arc<Mutex<()>>,
    /// The database's address, for the connections that listen for other processes'
    /// changes (see [`notify`]).
    url: Arc<str>,
}

/// A write transaction; on SQLite it also holds the process's write gate.
pub struct WriteTx {
    /// The transaction.
    pub tx: Transaction<'static, Any>,
    _gate: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    /// Commit and release the gate.
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }

    /// Roll back and release the gate.
    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await?;
        Ok(())
    }
}

impl Store {
    /// Connect to `url` (`sqlite://PATH`, created when missing, or `postgres://…`).
    pub async fn connect(url: &str, max_connections: u32, timeout: Duration) -> Result<Self> {
        Self::connect_with_clock(url, max_connections, timeout, Clock::new()).await
    }

    /// Connect, reading times from `clock`.
    pub async fn connect_with_clock(
        url: &str,
        max_connections: u32,
        timeout: Duration,
        clock: Clock,
    ) -> Result<Self> {
        Self::open(url, max_connections, timeout, clock, false).await
    }

    /// Connect for tests that pause tokio's time.
    ///
    /// A paused clock jumps to the next pending timer whenever the runtime waits, even for the
    /// database; if that timer is the pool's acquire timeout, the pool times out. So every
    /// connection is opened now, before time is paused, none is checked on acquire and none is
    /// reaped: acquiring then never waits, and no pool timer is left pending during a query.
    pub async fn connect_for_paused_time(url: &str, clock: Clock) -> Result<Self> {
        const CONNECTIONS: u32 = 8;
        let store = Self::open(url, CONNECTIONS, Duration::from_secs(3600), clock, true).await?;
        let mut held = Vec::new();
        for _ in 0..CONNECTIONS {
            held.push(store.pool.acquire().await?);
        }
        drop(held);
        while store.pool.num_idle() < CONNECTIONS as usize {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok(store)
    }

    async fn open(
        url: &str,
        max_connections: u32,
        timeout: Duration,
        clock: Clock,
        paused_time: bool,
    ) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url).ok_or_else(|| {
            crate::Error::Invalid(format!("unsupported database URL scheme in {url:?}"))
        })?;
        let url = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::Postgres => url.to_string(),
        };
        let options: AnyConnectOptions = url.parse()?;
        let busy_ms = timeout.as_millis();
        let mut pool = AnyPoolOptions::new().max_connections(max_connections);
        if paused_time {
            pool = pool
                .min_connections(max_connections)
                .test_before_acquire(false)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let pool = pool
            .acquire_timeout(timeout)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // The busy timeout first, so that the pragmas after it wait for
                        // another process's lock too.
                        conn.execute(
                            format!(
                                "pragma busy_timeout = {busy_ms}; pragma journal_mode = wal; \
                                 pragma synchronous = normal; pragma foreign_keys = on;"
                            )
                            .as_str(),
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let gate = (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Ok(Self {
            pool,
            backend,
            gate,
            clock,
            rollup: Arc::default(),
            url: url.into(),
        })
    }

    /// Run the migrations of this backend.
    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// Refresh the query planner's statistics where the database needs it (SQLite's
    /// `pragma optimize`; PostgreSQL's autovacuum does this by itself). Without statistics
    /// SQLite sorts every open conversation for a queue page instead of reading the partial
    /// index of waiting ones. Cheap when nothing changed; `serve` runs it at start and hourly.
    pub async fn optimize(&self) -> Result<()> {
        if self.backend == Backend::Sqlite {
            let mut w = self.begin_write().await?;
            sqlx::query("pragma optimize = 0x10002")
                .execute(&mut *w.tx)
                .await?;
            w.commit().await?;
        }
        Ok(())
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for queries the store does not wrap.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The clock the store stamps rows with.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Current time in unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Begin a write transaction (taking the SQLite write gate first).
    pub async fn begin_write(&self) -> Result<WriteTx> {
        let gate = match &self.gate {
            Some(g) => Some(g.clone().lock_owned().await),
            None => None,
        };
        // SQLite: take the write lock at BEGIN. A deferred transaction that reads first and
        // writes later fails with SQLITE_BUSY_SNAPSHOT, which no busy timeout can wait out,
        // when another process (a second tool, the CLI) wrote in between.
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("begin immediate").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(WriteTx { tx, _gate: gate })
    }

    /// Record a save of sheet `id` (its JSON `data`) as its next revision, a draft or a
    /// published one, with the audit entry; returns the revision number. Drafts and
    /// published saves share one numbering. On PostgreSQL a transaction-scoped advisory lock
    /// (one for all sheets: editors' saves are rare, and an import of thousands of sheets
    /// takes one lock, not thousands) keeps two saves of the same sheet from taking the same
    /// number; SQLite's write transaction already does.
    pub(crate) async fn add_sheet_revision(
        &self,
        tx: &mut Transaction<'static, Any>,
        id: &str,
        data: &str,
        author: &str,
        now: i64,
        draft: bool,
    ) -> Result<i64> {
        if self.backend == Backend::Postgres {
            sqlx::query("select pg_advisory_xact_lock($1)")
                .bind(lock_key("sportello:", "sheet-revisions"))
                .execute(&mut **tx)
                .await?;
        }
        let last: Option<i64> =
            sqlx::query_scalar("select max(revision) from sheet_revisions where sheet_id = $1")
                .bind(id)
                .fetch_one(&mut **tx)
                .await?;
        let revision = last.unwrap_or(0) + 1;
        let kind = if draft { "draft" } else { "published" };
        sqlx::query(
            "insert into sheet_revisions (sheet_id, revision, data, author, created_at, kind) \
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(revision)
        .bind(data)
        .bind(author)
        .bind(now)
        .bind(kind)
        .execute(&mut **tx)
        .await?;
        audit(
            tx,
            now,
            author,
            if draft { "sheet.draft" } else { "sheet.save" },
            &format!("sheet:{id}"),
            &serde_json::json!({ "revision": revision }),
        )
        .await?;
        Ok(revision)
    }

    /// Check that the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Close the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The stored cursor of a channel.
    pub async fn cursor(&self, channel: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("select cursor from channel_cursors where channel = $1")
                .bind(channel)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Store a channel's cursor on its own (adapters that advance it after intake).
    pub async fn set_cursor(&self, channel: &str, cursor: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        set_cursor(&mut w.tx, channel, cursor, self.now_ms()).await?;
        w.commit().await
    }

    /// The right to run a channel's poller, held until the returned lock is dropped.
    ///
    /// Telegram allows one `getUpdates` consumer: with several instances on one PostgreSQL,
    /// only the holder of this session-level advisory lock polls. SQLite serves a single
    /// process, so the lock is always granted there. `None` when another instance holds it.
    ///
    /// On PostgreSQL the lock lives on a connection of its own, outside the pool, and dies
    /// with it (a server restart, a terminated backend): the lock checks that connection
    /// every [`LOCK_CHECK_EVERY`] and [`ChannelLock::lost`] resolves as soon as it is found
    /// gone, so the poller stops before another instance, which waits
    /// [`ChannelLock::grace`] after taking the lock, starts.
    pub async fn channel_lock(&self, channel: &str) -> Result<Option<ChannelLock>> {
        if self.backend == Backend::Sqlite {
            return Ok(Some(ChannelLock::always()));
        }
        let key = advisory_key(channel);
        let mut conn = tokio::time::timeout(LOCK_CONNECT_TIMEOUT, PgConnection::connect(&self.url))
            .await
            .map_err(|_| crate::Error::Database(sqlx::Error::PoolTimedOut))??;
        let got: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut conn)
            .await?;
        if !got {
            let _ = conn.close().await;
            return Ok(None);
        }
        Ok(Some(ChannelLock::held(channel, key, conn)))
    }

    /// Record an action in the audit log.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &serde_json::Value,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        audit(&mut w.tx, self.now_ms(), actor, action, subject, detail).await?;
        w.commit().await
    }
}

/// Upsert a channel's cursor inside a transaction.
pub(crate) async fn set_cursor(
    tx: &mut Transaction<'static, Any>,
    channel: &str,
    cursor: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "insert into channel_cursors (channel, cursor, updated_at) values ($1, $2, $3) \
         on conflict (channel) do update set cursor = excluded.cursor, updated_at = excluded.updated_at",
    )
    .bind(channel)
    .bind(cursor)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Append to the audit log inside a transaction.
pub(crate) async fn audit(
    tx: &mut Transaction<'static, Any>,
    now: i64,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &serde_json::Value,
) -> Result<()> {
    sqlx::query(
        "insert into audit_log (at, actor, action, subject, detail) values ($1, $2, $3, $4, $5)",
    )
    .bind(now)
    .bind(actor)
    .bind(action)
    .bind(subject)
    .bind(detail.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Make a SQLite URL create its file (and folder) when missing.
fn sqlite_url(url: &str) -> Result<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" {
        return Ok(url.to_string());
    }
    if let Some(parent) = Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|e| {
            let e = std::io::Error::new(
                e.kind(),
                format!("cannot create folder {}: {e}", parent.display()),
            );
            crate::Error::Database(sqlx::Error::Io(e))
        })?;
    }
    if query.contains("mode=") {
        Ok(url.to_string())
    } else if query.is_empty() {
        Ok(format!("sqlite://{path}?mode=rwc"))
    } else {
        Ok(format!("sqlite://{path}?{query}&mode=rwc"))
    }
}

/// How often a held channel lock checks that its connection, and so the lock, is alive.
pub const LOCK_CHECK_EVERY: Duration = Duration::from_secs(1);
/// How long a check may take before the lock is taken for lost.
const LOCK_CHECK_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a new holder waits before acting: longer than a former holder whose lock died
/// with its connection can take to notice it (a check interval and a check's timeout).
const LOCK_GRACE: Duration = Duration::from_secs(3);
/// How long connecting the lock's own connection may take.
const LOCK_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A channel's poller lock (see [`Store::channel_lock`]); released when dropped.
pub struct ChannelLock {
    held: Option<Arc<HeldLock>>,
    lost: CancellationToken,
    watcher: Option<tokio::task::JoinHandle<()>>,
}

/// The PostgreSQL side of a lock: its connection (`None` once found dead) and key.
struct HeldLock {
    channel: String,
    key: i64,
    conn: Mutex<Option<PgConnection>>,
}

impl ChannelLock {
    /// SQLite's lock: one process, granted and never lost.
    fn always() -> Self {
        Self {
            held: None,
            lost: CancellationToken::new(),
            watcher: None,
        }
    }

    fn held(channel: &str, key: i64, conn: PgConnection) -> Self {
        let held = Arc::new(HeldLock {
            channel: channel.to_string(),
            key,
            conn: Mutex::new(Some(conn)),
        });
        let lost = CancellationToken::new();
        let watcher = tokio::spawn({
            let held = Arc::clone(&held);
            let lost = lost.clone();
            async move {
                loop {
                    tokio::select! {
                        () = lost.cancelled() => return,
                        () = tokio::time::sleep(LOCK_CHECK_EVERY) => {}
                    }
                    if !held.check(&lost).await {
                        return;
                    }
                }
            }
        });
        Self {
            held: Some(held),
            lost,
            watcher: Some(watcher),
        }
    }

    /// Whether the lock is still held, checked now on its connection (always on SQLite).
    /// Once `false`, it stays so and [`ChannelLock::lost`] has resolved.
    pub async fn is_held(&self) -> bool {
        match &self.held {
            None => true,
            Some(held) => held.check(&self.lost).await,
        }
    }

    /// Resolves when the lock is found lost (never on SQLite); a poller selects on it to
    /// stop at once, in the middle of a long poll too.
    pub async fn lost(&self) {
        self.lost.cancelled().await;
    }

    /// How long a new holder should wait before its first poll: a former holder whose
    /// lock died with its connection has noticed by then and stopped. Zero on SQLite.
    pub fn grace(&self) -> Duration {
        if self.held.is_some() {
            LOCK_GRACE
        } else {
            Duration::ZERO
        }
    }
}

impl HeldLock {
    /// Check the lock on its connection; on any failure the connection is closed and the
    /// lock marked lost.
    async fn check(&self, lost: &CancellationToken) -> bool {
        if lost.is_cancelled() {
            return false;
        }
        let mut conn = self.conn.lock().await;
        let Some(c) = conn.as_mut() else {
            return false;
        };
        // An advisory lock on a bigint key is listed with its high half as `classid` and
        // its low half as `objid`.
        let bits = u64::from_ne_bytes(self.key.to_ne_bytes());
        let query = sqlx::query_scalar::<_, bool>(
            "select exists (select 1 from pg_locks where locktype = 'advisory' \
             and classid::bigint = $1 and objid::bigint = $2 and objsubid = 1 \
             and pid = pg_backend_pid() and granted)",
        )
        .bind(i64::try_from(bits >> 32).unwrap_or_default())
        .bind(i64::try_from(bits & 0xffff_ffff).unwrap_or_default())
        .fetch_one(&mut *c);
        let error = match tokio::time::timeout(LOCK_CHECK_TIMEOUT, query).await {
            Ok(Ok(true)) => return true,
            Ok(Ok(false)) => "not held by this connection any more".to_string(),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "the check timed out".to_string(),
        };
        tracing::warn!(channel = %self.channel, error = %error, "lost the poller lock");
        // Dropping the connection closes it: a lock still held server-side goes with it.
        conn.take();
        lost.cancel();
        false
    }
}

impl Drop for ChannelLock {
    fn drop(&mut self) {
        self.lost.cancel();
        if let Some(watcher) = self.watcher.take() {
            watcher.abort();
        }
        // The lock belongs to the session: closing the connection releases it. The
        // connection is dropped with the last reference (the watcher's, if it is checking).
        if let Some(held) = self.held.take()
            && let Ok(mut conn) = held.conn.try_lock()
        {
            conn.take();
        }
    }
}

/// A stable advisory-lock key for a channel (FNV-1a of its name, in a Sportello namespace).
fn advisory_key(channel: &str) -> i64 {
    lock_key("sportello:poller:", channel)
}

/// FNV-1a of `namespace` + `name`, as a PostgreSQL advisory-lock key.
fn lock_key(namespace: &str, name: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in namespace.bytes().chain(name.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}
