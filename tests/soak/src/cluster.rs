//! The database and the `sportello serve` processes: a generated configuration, operator
//! users with API tokens, start, kill -9, SIGSTOP/SIGCONT, and the health and metrics monitor.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use sportello_doubles::telegram::TelegramDouble;
use sportello_doubles::x::{ACCOUNT_ID, XDouble};

use crate::{ADMIN_PASSWORD, Args, Run, TOKEN, X_CLIENT_ID, X_CLIENT_SECRET};

/// The soak's database: a fresh PostgreSQL database or SQLite file.
#[derive(Clone)]
pub struct Database {
    /// Its URL, for the instances and the checker.
    pub url: String,
    /// PostgreSQL: the server's URL and the database's name.
    postgres: Option<(String, String)>,
}

impl Database {
    /// Creates it.
    pub async fn create(args: &Args) -> Result<Database> {
        if args.sqlite {
            let dir = std::fs::canonicalize(&args.out)?.join("sqlite");
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir)?;
            return Ok(Database {
                url: format!("sqlite://{}", dir.join("soak.db").display()),
                postgres: None,
            });
        }
        let server = std::env::var("SPORTELLO_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("sportello_soak_{}", std::process::id());
        let admin = sqlx::AnyPool::connect(&server)
            .await
            .with_context(|| format!("PostgreSQL at {server}"))?;
        sqlx::query(&format!("drop database if exists {name} with (force)"))
            .execute(&admin)
            .await?;
        sqlx::query(&format!("create database {name}"))
            .execute(&admin)
            .await?;
        admin.close().await;
        let (base, _) = server.rsplit_once('/').context("a database URL")?;
        Ok(Database {
            url: format!("{base}/{name}"),
            postgres: Some((server, name)),
        })
    }

    /// A pool on it (for the checker).
    pub async fn pool(&self) -> Result<sqlx::AnyPool> {
        Ok(sqlx::pool::PoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(30))
            .connect(&self.url)
            .await?)
    }

    /// Terminates every backend of the soak database, as a server restart would end them.
    pub async fn cut_connections(&self) -> Result<u64> {
        let Some((server, name)) = &self.postgres else {
            return Ok(0);
        };
        let admin = sqlx::AnyPool::connect(server).await?;
        let rows = sqlx::query(&format!(
            "select pg_terminate_backend(pid) from pg_stat_activity where datname = '{name}' and pid <> pg_backend_pid()"
        ))
        .execute(&admin)
        .await?
        .rows_affected();
        admin.close().await;
        Ok(rows)
    }

    /// Restarts the PostgreSQL server (every cluster found in /etc/postgresql).
    pub fn restart_server(&self) -> Result<()> {
        for entry in std::fs::read_dir("/etc/postgresql")? {
            let version = entry?.file_name().to_string_lossy().to_string();
            let status = Command::new("pg_ctlcluster")
                .args(["--skip-systemctl-redirect", &version, "main", "restart"])
                .status()?;
            if !status.success() {
                bail!("pg_ctlcluster {version} main restart: {status}");
            }
        }
        Ok(())
    }

    /// Drops the database.
    pub async fn drop_it(&self) -> Result<()> {
        if let Some((server, name)) = &self.postgres {
            let admin = sqlx::AnyPool::connect(server).await?;
            sqlx::query(&format!("drop database if exists {name} with (force)"))
                .execute(&admin)
                .await?;
            admin.close().await;
        }
        Ok(())
    }
}

/// One `serve` process.
struct Instance {
    port: u16,
    child: Option<Child>,
    runs: usize,
    stopped: bool,
}

/// The instances.
pub struct Cluster {
    binary: PathBuf,
    root: PathBuf,
    config: PathBuf,
    logs: PathBuf,
    env: Vec<(String, String)>,
    instances: Vec<Instance>,
}

/// A free port on 127.0.0.1.
fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Cluster {
    /// Writes the configuration, migrates the database and makes the instances' ports.
    pub async fn prepare(
        args: &Args,
        binary: &Path,
        database: &Database,
        telegram: &TelegramDouble,
        x: &XDouble,
    ) -> Result<Cluster> {
        let root = std::env::current_dir()?;
        let out = std::fs::canonicalize(&args.out)?;
        let logs = out.join("logs");
        let _ = std::fs::remove_dir_all(&logs);
        std::fs::create_dir_all(&logs)?;
        let text = std::fs::read_to_string(root.join("config/sportello.toml"))
            .context("config/sportello.toml (run from the workspace's root)")?;
        let mut table: toml::Table = toml::from_str(&text)?;
        let mut set = |section: &str, key: &str, value: toml::Value| {
            let entry = table
                .entry(section.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(t) = entry {
                t.insert(key.to_string(), value);
            }
        };
        use toml::Value::{Boolean, Integer, String as S};
        set("database", "url", S(database.url.clone()));
        set("database", "max_connections", Integer(8));
        set("matcher", "semantic", Boolean(args.semantic));
        set("dispatcher", "lease_secs", Integer(args.lease_secs as i64));
        set("dispatcher", "base_delay_ms", Integer(200));
        set("dispatcher", "max_delay_ms", Integer(5_000));
        set("dispatcher", "poll_ms", Integer(200));
        set("telegram", "enabled", Boolean(true));
        set("telegram", "api_url", S(telegram.api_url()));
        set("telegram", "poll_timeout_secs", Integer(2));
        set("telegram", "rate_global", Integer(1_000));
        set("x", "enabled", Boolean(true));
        set("x", "api_url", S(x.api_url()));
        set("x", "user_id", S(ACCOUNT_ID.into()));
        set("x", "client_id", S(X_CLIENT_ID.into()));
        set("x", "poll_secs", Integer(1));
        set("x", "timeout_secs", Integer(5));
        set("webchat", "enabled", Boolean(true));
        set("webchat", "rate_per_session", Integer(100_000));
        set("webchat", "rate_per_ip", Integer(10_000_000));
        let config = out.join("sportello.toml");
        std::fs::write(&config, toml::to_string(&table)?)?;
        let env = vec![
            ("SPORTELLO_TELEGRAM__TOKEN".into(), TOKEN.into()),
            ("SPORTELLO_X__CLIENT_SECRET".into(), X_CLIENT_SECRET.into()),
            ("SPORTELLO_X__REFRESH_TOKEN".into(), x.issue_refresh_token()),
            ("SPORTELLO_ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into()),
            ("RUST_LOG".into(), "warn".into()),
        ];
        let mut instances = Vec::new();
        for _ in 0..args.n() {
            instances.push(Instance {
                port: free_port()?,
                child: None,
                runs: 0,
                stopped: false,
            });
        }
        let cluster = Cluster {
            binary: binary.to_path_buf(),
            root,
            config,
            logs,
            env,
            instances,
        };
        let out = cluster.command(&["migrate"]).output()?;
        if !out.status.success() {
            bail!(
                "sportello migrate: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(cluster)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.binary);
        c.current_dir(&self.root)
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c
    }

    /// Adds `n` operators, each with an API token; the tokens.
    pub fn operators(&self, n: usize) -> Result<Vec<String>> {
        let mut tokens = Vec::new();
        for i in 0..n {
            let name = format!("soak-operator-{i}");
            let mut child = self
                .command(&["user", "add", &name, "--role", "operator"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()?;
            child
                .stdin
                .take()
                .context("stdin")?
                .write_all(b"soak-operator-password\n")?;
            let out = child.wait_with_output()?;
            if !out.status.success() {
                bail!("user add: {}", String::from_utf8_lossy(&out.stderr));
            }
            let out = self
                .command(&["token", "create", &name, "--role", "operator"])
                .output()?;
            if !out.status.success() {
                bail!("token create: {}", String::from_utf8_lossy(&out.stderr));
            }
            let text = String::from_utf8_lossy(&out.stdout);
            let token = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .context("a token")?
                .trim()
                .to_string();
            tokens.push(token);
        }
        Ok(tokens)
    }

    /// The instances' base URLs.
    pub fn bases(&self) -> Vec<String> {
        self.instances
            .iter()
            .map(|i| format!("http://127.0.0.1:{}", i.port))
            .collect()
    }

    /// Starts instance `i` (its next run) and waits for /healthz.
    pub async fn start(&mut self, i: usize) -> Result<()> {
        let instance = &mut self.instances[i];
        instance.runs += 1;
        let log = std::fs::File::create(self.logs.join(format!(
            "instance-{}-run-{}.log",
            i + 1,
            instance.runs
        )))?;
        let port = instance.port;
        let mut c = Command::new(&self.binary);
        c.current_dir(&self.root)
            .arg("-c")
            .arg(&self.config)
            .arg("serve")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("SPORTELLO_CONSOLE__BIND", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log);
        let child = c.spawn()?;
        let instance = &mut self.instances[i];
        instance.child = Some(child);
        instance.stopped = false;
        let base = format!("http://127.0.0.1:{port}/healthz");
        let client = client();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(r) = client.get(&base).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if let Some(status) = self.instances[i].child.as_mut().unwrap().try_wait()? {
                bail!("instance {} exited at start with {status}", i + 1);
            }
            if Instant::now() > deadline {
                bail!("instance {} did not come up", i + 1);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Starts every instance.
    pub async fn start_all(&mut self) -> Result<()> {
        for i in 0..self.instances.len() {
            self.start(i).await?;
        }
        Ok(())
    }

    /// kill -9 of instance `i`, reaped.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.instances[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGSTOP (`stop` true) or SIGCONT of instance `i`.
    pub fn signal_stop(&mut self, i: usize, stop: bool) {
        if let Some(child) = &self.instances[i].child {
            let _ = Command::new("kill")
                .arg(if stop { "-STOP" } else { "-CONT" })
                .arg(child.id().to_string())
                .status();
            self.instances[i].stopped = stop;
        }
    }

    /// SIGTERM to every instance, and wait.
    pub fn stop_all(&mut self) {
        for i in 0..self.instances.len() {
            if self.instances[i].stopped {
                self.signal_stop(i, false);
            }
            if let Some(mut child) = self.instances[i].child.take() {
                let _ = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
                let deadline = Instant::now() + Duration::from_secs(20);
                while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(50));
                }
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// One line on the set-up, for the report.
    pub fn describe(&self) -> String {
        format!(
            "{} instance(s), {} run(s) in all; logs in {}",
            self.instances.len(),
            self.instances.iter().map(|i| i.runs).sum::<usize>(),
            self.logs.display()
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.instances.len() {
            if self.instances[i].stopped {
                self.signal_stop(i, false);
            }
            self.kill(i);
        }
    }
}

/// An HTTP client for the harness (no proxy, short timeouts).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client")
}

/// Samples every instance's /healthz every 250 ms and its /metrics every 2 s.
pub async fn monitor(run: Arc<Run>, bases: Vec<String>) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(1_500))
        .build()
        .expect("an HTTP client");
    let mut last: Vec<(u64, u64)> = vec![(0, 0); bases.len()];
    let mut tick = 0u64;
    loop {
        let checks = bases.iter().enumerate().map(|(i, base)| {
            let client = client.clone();
            let url = format!("{base}/healthz");
            async move {
                let ok = matches!(client.get(&url).send().await, Ok(r) if r.status() == 200);
                (i, ok)
            }
        });
        let now = run.now();
        for (i, ok) in futures_join(checks).await {
            run.health.lock().unwrap().push((now, i, ok));
        }
        if tick.is_multiple_of(8) {
            for (i, base) in bases.iter().enumerate() {
                if let Ok(r) = client.get(format!("{base}/metrics")).send().await
                    && let Ok(text) = r.text().await
                {
                    let now = (
                        counter(&text, "sportello_messages_in_total"),
                        counter(&text, "sportello_messages_out_total"),
                    );
                    // Counters restart at 0 with the process.
                    let delta = |now: u64, before: u64| now.checked_sub(before).unwrap_or(now);
                    let mut t = run.throughput.lock().unwrap();
                    t[i].0 += delta(now.0, last[i].0);
                    t[i].1 += delta(now.1, last[i].1);
                    last[i] = now;
                }
            }
        }
        tick += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs the futures concurrently.
async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        if let Ok(v) = h.await {
            out.push(v);
        }
    }
    out
}

/// The sum of a Prometheus counter over its labels.
fn counter(text: &str, name: &str) -> u64 {
    text.lines()
        .filter(|l| {
            l.starts_with(name) && matches!(l.as_bytes().get(name.len()), Some(b'{') | Some(b' '))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[cfg(test)]
mod tests {
    use super::counter;

    #[test]
    fn a_counter_is_summed_over_its_labels_and_not_confused_with_a_longer_name() {
        let text = "# TYPE sportello_messages_in_total counter\n\
                    sportello_messages_in_total{channel=\"telegram\"} 12\n\
                    sportello_messages_in_total{channel=\"webchat\"} 3\n\
                    sportello_messages_in_total_extra 100\n\
                    sportello_messages_out_total{channel=\"telegram\"} 7\n";
        assert_eq!(counter(text, "sportello_messages_in_total"), 15);
        assert_eq!(counter(text, "sportello_messages_out_total"), 7);
        assert_eq!(counter(text, "sportello_missing"), 0);
    }
}
