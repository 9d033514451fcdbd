//! The browser that the browser tests drive: headless Chromium through chromedriver, with
//! helpers to log in, read an element's text and save screenshots.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use super::TestApp;

/// How long a page may take to show what a test waits for.
pub const WAIT: Duration = Duration::from_secs(15);

/// chromedriver on a free port, stopped when dropped.
pub struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    /// Start chromedriver and wait until it answers.
    pub async fn start() -> Self {
        // chromedriver takes a port number only: choose a free one, and choose again if
        // another process took it before chromedriver bound it (it then exits).
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .unwrap()
                .port();
            let mut child = Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver is missing: install Debian's chromium and chromium-driver (scripts/test does)");
            let url = format!("http://127.0.0.1:{port}");
            let deadline = Instant::now() + WAIT;
            loop {
                if reqwest::get(format!("{url}/status")).await.is_ok() {
                    return Self { child, url };
                }
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                assert!(Instant::now() < deadline, "chromedriver did not start");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        panic!("chromedriver could not bind a port");
    }

    /// A new browser, with its own profile and cookies.
    pub async fn browser(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"] }),
        );
        ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("chromium did not start")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where screenshots go: `target/screenshots/`.
fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| super::root().join("target"));
    target.join("screenshots")
}

/// `target/screenshots/NAME.png` of the first element matching `css` alone.
pub async fn screenshot_of(browser: &Client, css: &str, name: &str) {
    let element = browser.find(Locator::Css(css)).await.unwrap();
    let png = element.screenshot().await.unwrap();
    std::fs::create_dir_all(screenshots()).unwrap();
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

/// `target/screenshots/NAME.png`.
pub async fn screenshot(browser: &Client, name: &str) {
    let dir = screenshots();
    browser
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    let png = browser.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// Log in through the login form and wait for the header.
pub async fn log_in(browser: &Client, app: &TestApp, name: &str, password: &str) {
    browser.goto(&format!("{}/login", app.base)).await.unwrap();
    browser
        .find(Locator::Css("#username"))
        .await
        .unwrap()
        .send_keys(name)
        .await
        .unwrap();
    browser
        .find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    browser
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(".who"))
        .await
        .unwrap();
}

/// The text of the first element matching `css`, once it is there. htmx may swap the element
/// between finding it and reading it; then it is found again.
pub async fn text_of(browser: &Client, css: &str) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let element = browser
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap();
        match element.text().await {
            Ok(text) => return text,
            Err(fantoccini::error::CmdError::Standard(e))
                if e.error == fantoccini::error::ErrorStatus::StaleElementReference
                    && std::time::Instant::now() < deadline =>
            {
                continue;
            }
            Err(e) => panic!("cannot read {css}: {e}"),
        }
    }
}
