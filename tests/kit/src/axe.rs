//! Accessibility checks and screenshots of a page, as the browser tests visit it.
//!
//! axe-core (Deque's accessibility engine, vendored from the `axe-core` npm package 4.14.1,
//! Mozilla Public License 2.0 in `assets/axe-core.LICENSE`) is injected into the page through
//! WebDriver, which the pages' Content-Security-Policy does not govern, and run on the whole
//! document at a desktop and at a phone width. A serious or critical finding fails the test,
//! with the rule, its help text and the elements it found. Each width's screenshot is saved
//! under `target/screenshots/NAME-desktop.png` and `NAME-phone.png` as a test artifact.

use fantoccini::Client;
use serde_json::Value;

use crate::browser::screenshot;

const AXE: &str = include_str!("../assets/axe.min.js");

/// A desktop browser window.
pub const DESKTOP: (u32, u32) = (1280, 1000);
/// A phone's screen (a common 6.1" phone, in CSS pixels).
pub const PHONE: (u32, u32) = (390, 844);

/// axe's serious and critical findings on the page as it is now, one line each.
pub async fn serious_violations(browser: &Client) -> Vec<String> {
    let loaded = browser
        .execute("return typeof window.axe === 'object';", vec![])
        .await
        .unwrap();
    if loaded != Value::Bool(true) {
        browser
            .execute(&format!("{AXE}\nreturn true;"), vec![])
            .await
            .unwrap();
    }
    let result = browser
        .execute_async(
            r#"
            const done = arguments[arguments.length - 1];
            window.axe.run(document, { resultTypes: ["violations"] })
              .then(r => done(r.violations
                .filter(v => v.impact === "serious" || v.impact === "critical")
                .map(v => v.impact + " " + v.id + ": " + v.help + " — " +
                  v.nodes.slice(0, 5).map(n => n.target.join(" ") + " (" + (n.failureSummary || "").replace(/\s+/g, " ") + ")").join("; "))))
              .catch(e => done(["axe failed: " + e]));
            "#,
            vec![],
        )
        .await
        .unwrap();
    result
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Check the page at desktop and phone widths with axe, failing on a serious or critical
/// finding, and save a screenshot at each width as `NAME-desktop` and `NAME-phone`. The
/// window is left at desktop size.
pub async fn check_page(browser: &Client, name: &str) {
    let url = browser.current_url().await.unwrap();
    let mut found = Vec::new();
    for (label, (w, h)) in [("desktop", DESKTOP), ("phone", PHONE)] {
        browser.set_window_size(w, h).await.unwrap();
        for v in serious_violations(browser).await {
            found.push(format!("[{label}] {v}"));
        }
        screenshot(browser, &format!("{name}-{label}")).await;
    }
    browser.set_window_size(DESKTOP.0, DESKTOP.1).await.unwrap();
    assert!(
        found.is_empty(),
        "axe found serious problems on {url} ({name}):\n{}",
        found.join("\n")
    );
}
