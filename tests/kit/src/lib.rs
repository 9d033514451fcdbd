//! What Sportello's end-to-end tests share.
//!
//! - [`TestApp`]: the whole service, built by the same [`sportello::App`] as `serve`, running
//!   in the test's process on a listener bound to port 0 (so no other test can take its
//!   port) over a fresh SQLite file or PostgreSQL database; a store on the same database to
//!   seed conversations as a channel would; logged-in HTTP clients ([`Session`]).
//! - [`chat`]: a citizen in the web chat, as the page's script talks to the server.
//! - [`browser`]: chromedriver and headless Chromium.
//! - [`served`]: the `sportello` binary as a process, for the tests where the process
//!   matters (start-up, signals, logs, crashes).

pub mod axe;
pub mod browser;
pub mod chat;
pub mod served;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sportello::app::{App, Options, Running};
use sportello_core::config::{Config, Texts};
use sportello_core::health::Health;
use sportello_core::intake::{Intake, Receipt};
use sportello_core::model::{Action, Attachment, Inbound, Role};
use sportello_core::policy::Policy;
use sportello_core::store::Store;
use sportello_faq::{Matcher, MatcherParams, Synonyms};

pub use sportello_core::testing::TestDb;

/// The workspace's root, where `config/` is.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A value no other test of any process will use: for message ids and names.
pub fn unique() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::SeqCst),
        &sportello_core::secret::random_token()[..8]
    )
}

/// The shipped configuration with `overrides` (`SPORTELLO_SECTION__KEY` pairs) applied, as
/// the environment would apply them.
pub fn config(overrides: &[(&str, &str)]) -> Config {
    let path = root().join("config/sportello.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut table: toml::Table = toml::from_str(&text).unwrap();
    // Relative paths of the shipped file are relative to the workspace's root.
    if let Some(toml::Value::Table(sheets)) = table.get_mut("sheets") {
        for (_, v) in sheets.iter_mut() {
            if let toml::Value::String(p) = v {
                *p = root().join(&*p).display().to_string();
            }
        }
    }
    if let Some(toml::Value::Table(matcher)) = table.get_mut("matcher")
        && let Some(toml::Value::String(p)) = matcher.get_mut("model")
    {
        *p = root().join(&*p).display().to_string();
    }
    Config::from_table(
        table,
        overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    )
    .unwrap()
}

/// Where the sample sheets' embeddings are kept between test processes.
fn embeddings_file() -> PathBuf {
    root().join("target/tmp/sportello-test-embeddings.json")
}

/// Seed a new test database with the embeddings an earlier test process stored, as a
/// second instance finds those of the first: every test binary would otherwise embed the
/// sample sheets again (some ten seconds of CPU). How many it seeded.
async fn seed_embeddings(db: &TestDb) -> usize {
    let store = db.store().await;
    let seeded = seed_store(&store).await;
    store.close().await;
    seeded
}

/// Seed a migrated store with the kept embeddings; how many.
pub(crate) async fn seed_store(store: &Store) -> usize {
    let Some(kept) = kept_embeddings() else {
        return 0;
    };
    let (model, vectors) = &*kept;
    store.save_embeddings(model, vectors).await.unwrap();
    vectors.len()
}

/// Make sure the sample sheets' embeddings are kept on disk. The first test process of the
/// machine computes them, once, with a service of its own; every other test process waits on
/// the same file lock meanwhile, instead of embedding the sheets itself (dozens of test
/// servers embedding at once on a small machine would each take minutes).
pub(crate) async fn ensure_kept_embeddings() {
    let path = embeddings_file();
    if path.exists() {
        return;
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path.with_extension("lock"))
        .unwrap();
    let lock = tokio::task::spawn_blocking(move || {
        lock.lock().unwrap();
        lock
    })
    .await
    .unwrap();
    if !path.exists() {
        let mut app = TestApp::start_seeded(TestDb::sqlite(), &[]).await;
        app.stop().await;
        assert!(path.exists(), "the sample sheets' embeddings were kept");
    }
    drop(lock);
}

/// The kept embeddings, read and parsed once per process (once there is a file).
type Kept = Arc<(String, Vec<(String, Vec<f32>)>)>;
fn kept_embeddings() -> Option<Kept> {
    static KEPT: std::sync::Mutex<Option<Kept>> = std::sync::Mutex::new(None);
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    if kept.is_none() {
        let text = std::fs::read_to_string(embeddings_file()).ok()?;
        *kept = Some(Arc::new(serde_json::from_str(&text).ok()?));
    }
    kept.clone()
}

/// Keep the embeddings the service computed for the next test processes, unless they are
/// those it was seeded with.
async fn keep_embeddings(
    store: &Store,
    status: &sportello_core::knowledge::SemanticStatus,
    seeded: usize,
) {
    if let Some(model) = &status.model {
        keep_model_embeddings(store, model, seeded).await;
    }
}

/// Keep the embeddings of `model` in `store` for the next test processes, unless they are
/// the `seeded` ones.
pub(crate) async fn keep_model_embeddings(store: &Store, model: &str, seeded: usize) {
    let vectors = store.embeddings(model).await.unwrap();
    if vectors.len() == seeded {
        return;
    }
    let path = embeddings_file();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let temporary = path.with_extension(unique());
    std::fs::write(
        &temporary,
        serde_json::to_string(&(model, vectors)).unwrap(),
    )
    .unwrap();
    // Atomic: a process reading meanwhile sees the whole file or none.
    std::fs::rename(&temporary, &path).unwrap();
}

/// The admin's password in every test server.
pub const ADMIN_PASSWORD: &str = "test-admin-password";
/// The password of the users tests add.
pub const PASSWORD: &str = "password-of-a-test-user";

/// The whole service running in this process, and a store on its database.
pub struct TestApp {
    running: Option<Running>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The database URL.
    pub url: String,
    /// The store, on the same database.
    pub store: Store,
    intake: Intake,
    /// The database, dropped with the app.
    pub db: TestDb,
}

impl TestApp {
    /// Serve on a fresh SQLite file.
    pub async fn sqlite() -> Self {
        Self::sqlite_with(&[]).await
    }

    /// Serve on a fresh SQLite file with configuration overrides.
    pub async fn sqlite_with(overrides: &[(&str, &str)]) -> Self {
        Self::start(TestDb::sqlite(), overrides).await
    }

    /// Serve on a fresh PostgreSQL database.
    pub async fn postgres() -> Self {
        Self::start(TestDb::postgres().await, &[]).await
    }

    /// Serve on `db` with configuration overrides.
    pub async fn start(db: TestDb, overrides: &[(&str, &str)]) -> Self {
        ensure_kept_embeddings().await;
        Self::start_seeded(db, overrides).await
    }

    async fn start_seeded(db: TestDb, overrides: &[(&str, &str)]) -> Self {
        let mut all = vec![
            ("SPORTELLO_DATABASE__URL", db.url.as_str()),
            ("SPORTELLO_CONSOLE__LIVE_POLL_MS", "200"),
        ];
        all.extend_from_slice(overrides);
        let seeded = seed_embeddings(&db).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let options = Options {
            admin_password: Some(ADMIN_PASSWORD.into()),
        };
        let app = App::build_with(config(&all), listener, options)
            .await
            .unwrap();
        let running = app.spawn();
        // Tests check what the matcher answers: wait for the semantic one, which the
        // service builds in the background on a new store (the lexical one answers
        // meanwhile).
        running.intake().policy().knowledge().semantic_ready().await;
        let base = format!("http://{}", running.address());
        let store = running.store().clone();
        keep_embeddings(
            &store,
            &running.intake().policy().knowledge().semantic_status(),
            seeded,
        )
        .await;
        let matcher = Matcher::new(&[], &Synonyms::default(), MatcherParams::default());
        let policy = Arc::new(Policy::new(matcher, &[], Texts::default()));
        let intake = Intake::new(store.clone(), policy, Arc::new(Health::new(store.clock())));
        Self {
            running: Some(running),
            base,
            url: db.url.clone(),
            store,
            intake,
            db,
        }
    }

    /// The running service (its intake, policy and knowledge).
    pub fn running(&self) -> &Running {
        self.running.as_ref().expect("the app is running")
    }

    /// Stop the service gracefully; whether in-flight work finished in time.
    pub async fn stop(&mut self) -> bool {
        match self.running.take() {
            Some(r) => r.stop().await,
            None => true,
        }
    }

    /// A citizen asks for a person on `channel`: a conversation in the queue. Returns its id.
    pub async fn queue_conversation(
        &self,
        channel: &str,
        name: &str,
        text: &str,
        subject: Option<&str>,
    ) -> i64 {
        let n = unique();
        let sender = format!("citizen-{n}");
        let mut inbound = Inbound::text(
            channel,
            format!("m-{n}"),
            &sender,
            &format!("thread-{n}"),
            text,
        );
        inbound.sender.display_name = name.to_string();
        inbound.subject = subject.map(str::to_string);
        inbound.action = Action::RequestOperator;
        match self.intake.receive(inbound).await.unwrap() {
            Receipt::Stored {
                conversation_id, ..
            } => conversation_id,
            other => panic!("{other:?}"),
        }
    }

    /// A citizen writes on `channel` in `thread`, and the bot decides with the shipped sheets
    /// (as `sportello serve` would, with the default configuration). Returns the conversation.
    pub async fn citizen_writes(
        &self,
        channel: &str,
        thread: &str,
        text: &str,
        attachments: Vec<Attachment>,
    ) -> i64 {
        let mut inbound = Inbound::text(channel, format!("w-{}", unique()), thread, thread, text);
        inbound.attachments = attachments;
        match self.running().intake().receive(inbound).await.unwrap() {
            Receipt::Stored {
                conversation_id, ..
            } => conversation_id,
            other => panic!("{other:?}"),
        }
    }

    /// Add a user with [`PASSWORD`].
    pub async fn add_user(&self, name: &str, role: Role) -> i64 {
        self.store.add_user(name, role, PASSWORD).await.unwrap()
    }

    /// An HTTP client that does not follow redirects and keeps cookies.
    pub fn client(&self) -> reqwest::Client {
        client()
    }

    /// Log in; the client holds the session, the CSRF token is returned with it.
    pub async fn login(&self, name: &str, password: &str) -> Session {
        login_at(&self.base, name, password).await
    }

    /// Log in as `admin`.
    pub async fn admin(&self) -> Session {
        self.login("admin", ADMIN_PASSWORD).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Tasks end with the test's runtime; cancelling lets them stop first.
        if let Some(r) = &self.running {
            r.cancel();
        }
    }
}

/// An HTTP client that does not follow redirects and keeps cookies.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Log in at the console on `base`; the client holds the session, the CSRF token is returned with it.
pub async fn login_at(base: &str, name: &str, password: &str) -> Session {
    let client = client();
    let resp = client
        .post(format!("{}/login", base))
        .form(&[("username", name), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "login of {name} failed");
    // Editors have a home page of their own; the others are sent to the queue.
    let mut home = client.get(format!("{}/", base)).send().await.unwrap();
    if home.status() == 303 {
        let to = home.headers()["location"].to_str().unwrap().to_string();
        home = client.get(format!("{}{to}", base)).send().await.unwrap();
    }
    let page = home.text().await.unwrap();
    let csrf = csrf_of(&page).unwrap_or_default();
    Session {
        client,
        csrf,
        base: base.to_string(),
    }
}

/// The CSRF token of a page (its `<meta name="csrf-token">`).
pub fn csrf_of(page: &str) -> Option<String> {
    let at = page.find(r#"name="csrf-token" content=""#)?;
    let rest = &page[at + r#"name="csrf-token" content=""#.len()..];
    Some(rest[..rest.find('"')?].to_string())
}

/// A logged-in client.
pub struct Session {
    /// The client, holding the cookie.
    pub client: reqwest::Client,
    /// The session's CSRF token.
    pub csrf: String,
    base: String,
}

impl Session {
    /// GET a path.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    /// POST a form to a path, with the CSRF token.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf", &self.csrf));
        self.client
            .post(format!("{}{path}", self.base))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// POST a multipart form (the CSRF token first, as the console's forms have it), with
    /// a file under `file` when given as `(name, bytes)`.
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file: Option<(&str, Vec<u8>)>,
    ) -> reqwest::Response {
        let mut form = reqwest::multipart::Form::new().text("csrf", self.csrf.clone());
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        if let Some((name, bytes)) = file {
            form = form.part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
            );
        }
        self.client
            .post(format!("{}{path}", self.base))
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// Send JSON with the CSRF header.
    pub async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("X-CSRF-Token", &self.csrf);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }
}
