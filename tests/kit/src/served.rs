//! The `sportello` binary as a process ([`Runs`]), for the tests where the process itself
//! matters: start-up and migrations, signals and exit codes, what reaches the logs, crashes,
//! several instances.
//!
//! The console binds port 0 (`SPORTELLO_CONSOLE__BIND=127.0.0.1:0`) and the test reads the
//! address the process logged, so no two tests can race for a port.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a process may take to come up (with its semantic matcher, on a store no
/// earlier test process could seed).
const START: Duration = Duration::from_secs(180);

/// The address in a log's "sportello is serving" line, plain or JSON.
pub fn served_address(log: &str) -> Option<String> {
    let line = log.lines().find(|l| l.contains("sportello is serving"))?;
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(line) {
        return json["fields"]["address"].as_str().map(str::to_string);
    }
    let at = line.find("address=")? + "address=".len();
    Some(line[at..].split_whitespace().next()?.to_string())
}

/// An office's `sportello serve` process, started, crashed and started again on the same
/// database: each run logs to a file of its own and binds a port of its own. The Telegram,
/// X and email harnesses wrap it with their platform's settings.
pub struct Runs {
    /// A folder for the database (when SQLite) and the logs.
    pub dir: tempfile::TempDir,
    /// The database's URL.
    pub db_url: String,
    /// The console's address of the current run.
    pub base: String,
    env: Vec<(String, String)>,
    child: Option<Child>,
    runs: usize,
}

impl Runs {
    /// Not started yet, on a SQLite file in a new folder.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db_url = format!("sqlite://{}", dir.path().join("sportello.db").display());
        Self::on(dir, db_url)
    }

    /// Not started yet, on the database at `db_url`, logging into `dir`.
    pub fn on(dir: tempfile::TempDir, db_url: String) -> Self {
        Self {
            dir,
            db_url,
            base: String::new(),
            env: Vec::new(),
            child: None,
            runs: 0,
        }
    }

    /// Set an environment variable for the next start.
    pub fn env(&mut self, key: &str, value: &str) -> &mut Self {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
        self
    }

    /// The log file of run `n` (from 1).
    pub fn log_path(&self, n: usize) -> std::path::PathBuf {
        self.dir.path().join(format!("serve-{n}.log"))
    }

    /// The logs of every run so far. While a process runs, its last lines may not be written
    /// yet: a check on the whole log (no secret in it) uses [`Runs::terminate`], which reads
    /// the log once the process has exited.
    pub fn logs(&self) -> String {
        (1..=self.runs)
            .map(|n| std::fs::read_to_string(self.log_path(n)).unwrap_or_default())
            .collect()
    }

    /// Start `binary serve` from the workspace's root with the platform's `settings` (then
    /// the variables set with [`Runs::env`]), and wait for `/healthz`.
    pub async fn start(&mut self, binary: &str, settings: &[(&str, String)]) {
        self.runs += 1;
        let mut seeded = None;
        if self.runs == 1 {
            crate::ensure_kept_embeddings().await;
            // The sample sheets' embeddings, as an earlier test process computed them: the
            // service starts with the semantic matcher instead of building it in the
            // background (which core's `tests/semantic.rs` covers).
            let store =
                sportello_core::store::Store::connect(&self.db_url, 2, Duration::from_secs(10))
                    .await
                    .unwrap();
            store.migrate().await.unwrap();
            seeded = Some(crate::seed_store(&store).await);
            store.close().await;
        }
        let log = std::fs::File::create(self.log_path(self.runs)).unwrap();
        let child = Command::new(binary)
            .current_dir(crate::root())
            .arg("serve")
            .env("SPORTELLO_DATABASE__URL", &self.db_url)
            .env("SPORTELLO_CONSOLE__BIND", "127.0.0.1:0")
            .env("SPORTELLO_ADMIN_PASSWORD", crate::ADMIN_PASSWORD)
            .env("SPORTELLO_DISPATCHER__BASE_DELAY_MS", "200")
            .env("SPORTELLO_DISPATCHER__POLL_MS", "100")
            .env("RUST_LOG", "info")
            .envs(settings.iter().map(|(k, v)| (*k, v.as_str())))
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        self.base.clear();
        let deadline = Instant::now() + START;
        loop {
            let log = std::fs::read_to_string(self.log_path(self.runs)).unwrap_or_default();
            if let Some(address) = served_address(&log) {
                self.base = format!("http://{address}");
                if let Ok(answer) = reqwest::get(format!("{}/healthz", self.base)).await {
                    // Tests check what the matcher answers: on a store no earlier test
                    // process seeded, wait for the semantic matcher the service builds in
                    // the background (the lexical one answers meanwhile).
                    let health: serde_json::Value = answer.json().await.unwrap_or_default();
                    if health["matcher"]["state"] != "indexing" {
                        if let (Some(seeded), Some(model)) =
                            (seeded, health["matcher"]["model"].as_str())
                        {
                            let store = sportello_core::store::Store::connect(
                                &self.db_url,
                                1,
                                Duration::from_secs(10),
                            )
                            .await
                            .unwrap();
                            crate::keep_model_embeddings(&store, model, seeded).await;
                            store.close().await;
                        }
                        return;
                    }
                }
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("serve exited early with {status}: {}", self.logs());
            }
            assert!(Instant::now() < deadline, "serve did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Wait up to `patience` for the process to end by itself (a failpoint); its status.
    pub async fn wait_exit(&mut self, patience: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not stop: {}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM and wait; the exit code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        child.wait().ok().and_then(|s| s.code())
    }

    /// SIGTERM and wait: the exit code and the whole log (complete: the process has exited
    /// and its log file is closed).
    pub fn terminate(&mut self) -> (Option<i32>, String) {
        let code = self.stop();
        (code, self.logs())
    }

    /// `/healthz` as JSON.
    pub async fn health(&self) -> serde_json::Value {
        reqwest::get(format!("{}/healthz", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A store on the same database.
    pub async fn store(&self) -> sportello_core::store::Store {
        sportello_core::store::Store::connect(&self.db_url, 2, Duration::from_secs(10))
            .await
            .unwrap()
    }
}

impl Drop for Runs {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A reverse proxy on a port of its own, forwarding every connection to an office started
/// later: the public address a platform calls (a Telegram webhook) or links point at (email
/// feedback links) must be known before the office starts and binds its port.
pub struct Proxy {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    target: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl Proxy {
    /// Listen; connections wait until [`Proxy::forward_to`] names the target.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let target: std::sync::Arc<std::sync::Mutex<Option<String>>> = Default::default();
        let shared = target.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let address = loop {
                        if let Some(a) = shared.lock().unwrap().clone() {
                            break a;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    };
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(address).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Self { base, target }
    }

    /// Forward to the console at `base` (`http://HOST:PORT`).
    pub fn forward_to(&self, base: &str) {
        let address = base.trim_start_matches("http://").to_string();
        *self.target.lock().unwrap() = Some(address);
    }
}
