//! The `sportello` binary as a process, for the tests where the process itself matters:
//! start-up and migrations, signals and exit codes, what reaches the logs, crashes.
//!
//! The console binds port 0 (`SPORTELLO_CONSOLE__BIND=127.0.0.1:0`) and the test reads the
//! address the process logged, so no two tests can race for a port.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a process may take to come up.
const START: Duration = Duration::from_secs(60);

/// A running `sportello serve`, its log written to a file.
pub struct Served {
    child: Option<Child>,
    log: std::path::PathBuf,
    /// `http://127.0.0.1:PORT`, once it serves.
    pub base: String,
}

/// The address in a log's "sportello is serving" line, plain or JSON.
pub fn served_address(log: &str) -> Option<String> {
    let line = log.lines().find(|l| l.contains("sportello is serving"))?;
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(line) {
        return json["fields"]["address"].as_str().map(str::to_string);
    }
    let at = line.find("address=")? + "address=".len();
    Some(line[at..].split_whitespace().next()?.to_string())
}

impl Served {
    /// Start `binary serve` in `dir` (where `config/` is) with `env`, logging to `log`, and
    /// wait until `/healthz` answers.
    pub async fn start(binary: &str, dir: &Path, log: &Path, env: &[(&str, &str)]) -> Self {
        let file = std::fs::File::create(log).unwrap();
        let child = Command::new(binary)
            .current_dir(dir)
            .arg("serve")
            .env("SPORTELLO_CONSOLE__BIND", "127.0.0.1:0")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        let mut served = Self {
            child: Some(child),
            log: log.to_path_buf(),
            base: String::new(),
        };
        served.wait_serving().await;
        served
    }

    async fn wait_serving(&mut self) {
        let deadline = Instant::now() + START;
        loop {
            if self.base.is_empty()
                && let Some(address) = served_address(&self.logs())
            {
                self.base = format!("http://{address}");
            }
            if !self.base.is_empty() && reqwest::get(format!("{}/healthz", self.base)).await.is_ok()
            {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("serve exited early with {status}:\n{}", self.logs());
            }
            assert!(
                Instant::now() < deadline,
                "serve did not come up:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The log so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Whether the process has ended by itself (a failpoint); its status when it has.
    pub fn try_exit(&mut self) -> Option<std::process::ExitStatus> {
        let status = self.child.as_mut()?.try_wait().unwrap()?;
        self.child = None;
        Some(status)
    }

    /// SIGTERM and wait: the exit code and the whole log (complete: the process has exited
    /// and its log file is closed).
    pub fn terminate(&mut self) -> (Option<i32>, String) {
        let Some(mut child) = self.child.take() else {
            return (None, self.logs());
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let status = child.wait().unwrap();
        (status.code(), self.logs())
    }

    /// SIGKILL and wait.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.kill();
    }
}
