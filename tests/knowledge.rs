//! Every instance answers with what was published, wherever it was published: on another
//! `serve` process sharing the PostgreSQL database (told by `LISTEN/NOTIFY`), or by
//! `sportello sheets import` run against the SQLite file of a running server (seen by its
//! fingerprint polling).

use std::time::{Duration, Instant};

use serde_json::json;
use sportello_testkit::served::Runs;
use sportello_testkit::{ADMIN_PASSWORD, TestApp, TestDb, chat, login_at, root};

/// A sheet none of the shipped ones resembles.
const QUESTION: &str = "come prendo in prestito una bicicletta elettrica";
const MARK: &str = "BiciSportello";

fn sheet() -> serde_json::Value {
    json!({
        "id": "prestito-bici-elettriche",
        "title": "Prestito gratuito di biciclette elettriche",
        "summary": format!("Il servizio {MARK} presta biciclette elettriche gratis per tre giorni: prenota allo sportello."),
        "questions": [QUESTION, "prestito bici elettrica gratis"],
        "keywords": ["bicicletta", "bici elettrica", "prestito"]
    })
}

/// What the bot at `base` answers to the question, in a new conversation.
async fn answer(base: &str) -> String {
    let c = chat::open(base).await;
    c.say(QUESTION).await;
    c.last().await["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Ask `base` until the answer carries the new sheet; how long it took.
async fn until_answered(base: &str) -> Duration {
    let start = Instant::now();
    loop {
        let text = answer(base).await;
        if text.contains(MARK) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{base} still answers without the published sheet: {text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_sheet_published_on_one_instance_is_answered_by_another_on_the_same_postgres() {
    let db = TestDb::postgres().await;
    let mut a = Runs::on(tempfile::tempdir().unwrap(), db.url.clone());
    a.start(env!("CARGO_BIN_EXE_sportello"), &[]).await;
    let mut b = Runs::on(tempfile::tempdir().unwrap(), db.url.clone());
    b.start(env!("CARGO_BIN_EXE_sportello"), &[]).await;
    assert!(
        !answer(&b.base).await.contains(MARK),
        "the sheet is not there yet"
    );

    let admin = login_at(&a.base, "admin", ADMIN_PASSWORD).await;
    let created = admin
        .json(reqwest::Method::POST, "/api/v1/sheets", Some(sheet()))
        .await;
    assert!(
        created.status().is_success(),
        "{}",
        created.text().await.unwrap()
    );
    let took = until_answered(&b.base).await;
    eprintln!("instance B answered with the sheet published on A after {took:?}");
    // A, where it was published, answers with it at once.
    assert!(answer(&a.base).await.contains(MARK));

    let (code, logs) = b.terminate();
    assert_eq!(code, Some(0), "{logs}");
    assert_eq!(a.terminate().0, Some(0));
}

#[tokio::test]
async fn sheets_imported_from_the_command_line_are_answered_by_the_running_sqlite_server() {
    let app = TestApp::sqlite().await;
    assert!(!answer(&app.base).await.contains(MARK));

    let folder = tempfile::tempdir().unwrap();
    let s = sheet();
    let toml = format!(
        "id = {:?}\ntitle = {:?}\nsummary = {:?}\nquestions = [{:?}, {:?}]\nkeywords = [\"bicicletta\", \"prestito\"]\n",
        s["id"].as_str().unwrap(),
        s["title"].as_str().unwrap(),
        s["summary"].as_str().unwrap(),
        s["questions"][0].as_str().unwrap(),
        s["questions"][1].as_str().unwrap(),
    );
    std::fs::write(folder.path().join("prestito-bici-elettriche.toml"), toml).unwrap();
    // tokio's Command: the server runs on this test's runtime, and a blocking wait here would
    // stop it in the middle of whatever write it was doing, holding the file's lock.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_sportello"))
        .current_dir(root())
        .args(["sheets", "import"])
        .arg(folder.path())
        .env("SPORTELLO_DATABASE__URL", &app.url)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let took = until_answered(&app.base).await;
    eprintln!("the running server answered with the imported sheet after {took:?}");
}
