//! The `sportello` commands as a user runs them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `sportello ARGS` in the repository, on a fresh SQLite file, with extra environment.
fn sportello(db: &Path, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sportello"));
    cmd.current_dir(root())
        .args(args)
        .env(
            "SPORTELLO_DATABASE__URL",
            format!("sqlite://{}", db.display()),
        )
        .env_remove("SPORTELLO_LOG_FORMAT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn ask_json_prints_a_decision_with_a_confidence() {
    let dir = tempfile::tempdir().unwrap();
    let out = sportello(
        &dir.path().join("s.db"),
        &[
            "ask",
            "--json",
            "vorrei",
            "parlare",
            "con",
            "un",
            "operatore",
        ],
        &[],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decision"], "handoff");
    for key in [
        "query",
        "decision",
        "sheet",
        "confidence",
        "candidates",
        "micros",
        "reply",
    ] {
        assert!(v.get(key).is_some(), "missing {key} in {v}");
    }
    assert!(v["confidence"].is_number());
    assert!(v["reply"].as_str().unwrap().contains("operatore"));
}

#[test]
fn ask_answers_from_the_sample_sheets_with_the_sheets_text() {
    let dir = tempfile::tempdir().unwrap();
    let title_query = "Pink Card: come si richiede";
    let out = sportello(
        &dir.path().join("s.db"),
        &["ask", "--json", "--sheets", "config/sheets", title_query],
        &[],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let candidates: Vec<&str> = v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(
        candidates
            .iter()
            .take(3)
            .any(|c| c.starts_with("pink-card")),
        "{v}"
    );
}

#[test]
fn a_configuration_error_names_the_key_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = sportello(
        &dir.path().join("s.db"),
        &["migrate"],
        &[("SPORTELLO_DISPATCHER__BATCH", "lots")],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("dispatcher.batch") && err.contains("lots"),
        "{err}"
    );
}

#[test]
fn an_unknown_key_in_the_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[console]\nbind = \"127.0.0.1:8080\"\nport = 9\n").unwrap();
    let out = sportello(
        &dir.path().join("s.db"),
        &["-c", cfg.to_str().unwrap(), "migrate"],
        &[],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("port"), "{}", text(&out.stderr));
}

#[test]
fn an_unreachable_database_is_a_clear_error_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = sportello(
        &dir.path().join("unused.db"),
        &["migrate"],
        &[
            (
                "SPORTELLO_DATABASE__URL",
                "postgres://postgres@127.0.0.1:1/nowhere",
            ),
            ("SPORTELLO_DATABASE__TIMEOUT_SECS", "2"),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("cannot open the database postgres://postgres@127.0.0.1:1/nowhere"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn an_unopenable_sqlite_file_is_a_clear_error_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "not a folder").unwrap();
    let out = sportello(&blocker.join("s.db"), &["migrate"], &[], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("panicked"));
}

#[test]
fn sheets_check_reports_every_problem_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let sheets = dir.path().join("sheets");
    std::fs::create_dir(&sheets).unwrap();
    std::fs::write(
        sheets.join("a.toml"),
        "id = \"a\"\ntitle = \"A\"\nsummary = \"ok\"\ncolour = \"red\"\n",
    )
    .unwrap();
    std::fs::write(
        sheets.join("b.toml"),
        "id = \"b\"\ntitle = \"B\"\nsummary = \"ok\"\noffice = \"nowhere\"\n",
    )
    .unwrap();
    std::fs::write(sheets.join("c.toml"), "id = \"c\"\ntitle = \n").unwrap();
    let out = sportello(
        &dir.path().join("s.db"),
        &["sheets", "check", sheets.to_str().unwrap()],
        &[],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out.stdout);
    assert!(
        report.contains("a.toml:4:") && report.contains("colour"),
        "{report}"
    );
    assert!(
        report.contains("b.toml:4:") && report.contains("nowhere"),
        "{report}"
    );
    assert!(report.contains("c.toml:2:"), "{report}");
}

#[test]
fn the_sample_sheets_pass_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let out = sportello(
        &dir.path().join("s.db"),
        &["sheets", "check", "config/sheets"],
        &[],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stdout));
}

#[test]
fn sheets_exported_and_imported_again_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let out = sportello(&db, &["sheets", "import", "config/sheets"], &[], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = dir.path().join("all.csv");
    let out = sportello(&db, &["sheets", "export", csv.to_str().unwrap()], &[], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = sportello(&db, &["sheets", "import", csv.to_str().unwrap()], &[], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(" 0 new or changed"),
        "{}",
        text(&out.stdout)
    );
    let folder = dir.path().join("toml");
    let out = sportello(
        &db,
        &["sheets", "export", folder.to_str().unwrap()],
        &[],
        None,
    );
    assert!(out.status.success());
    let out = sportello(
        &db,
        &["sheets", "import", folder.to_str().unwrap()],
        &[],
        None,
    );
    assert!(
        text(&out.stdout).contains(" 0 new or changed"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn eval_writes_one_json_line_per_query_and_prints_the_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let queries = dir.path().join("q.tsv");
    std::fs::write(&queries, "# comment\nbuongiorno\t-\noperatore per favore\t-\nPink Card: come si richiede\tpink-card-richiesta\n").unwrap();
    let results = dir.path().join("r.jsonl");
    let out = sportello(
        &dir.path().join("s.db"),
        &[
            "eval",
            "--sheets",
            "config/sheets",
            queries.to_str().unwrap(),
            "--output",
            results.to_str().unwrap(),
            "--json",
        ],
        &[],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&results)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["decision"], "smalltalk");
    assert_eq!(lines[1]["decision"], "handoff");
    let metrics: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(metrics["n"], 3);
    assert_eq!(metrics["answerable"], 1);
    assert_eq!(metrics["abstention"], 1.0);
}

#[test]
fn a_user_is_added_with_a_password_from_stdin_and_a_token_is_printed_last() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let out = sportello(
        &db,
        &["user", "add", "giulia", "--role", "operator"],
        &[],
        Some("una password lunga\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let again = sportello(
        &db,
        &["user", "add", "giulia", "--role", "operator"],
        &[],
        Some("una password lunga\n"),
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("already exists"));
    let out = sportello(
        &db,
        &["token", "create", "crm", "--role", "admin"],
        &[],
        None,
    );
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    let last = stdout.lines().last().unwrap();
    assert!(last.starts_with("spt_") && last.len() > 40, "{stdout}");
    let logs = text(&out.stderr);
    assert!(!logs.contains(last), "the token never appears in logs");
}

#[test]
fn user_passwd_sets_a_password_from_stdin_that_logs_in_and_the_old_one_no_longer_does() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let add = sportello(
        &db,
        &["user", "add", "giulia", "--role", "operator"],
        &[],
        Some("la prima password\n"),
    );
    assert!(add.status.success(), "{}", text(&add.stderr));
    let out = sportello(
        &db,
        &["user", "passwd", "giulia"],
        &[],
        Some("la seconda password\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("password of giulia set"));
    let unknown = sportello(
        &db,
        &["user", "passwd", "nessuno"],
        &[],
        Some("una password lunga\n"),
    );
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        text(&unknown.stderr).contains("not found"),
        "{}",
        text(&unknown.stderr)
    );
    let short = sportello(&db, &["user", "passwd", "giulia"], &[], Some("corta\n"));
    assert_eq!(short.status.code(), Some(1));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = sportello_core::store::Store::connect(
            &format!("sqlite://{}", db.display()),
            1,
            std::time::Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert!(
            store
                .verify_password("giulia", "la seconda password")
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .verify_password("giulia", "la prima password")
                .await
                .unwrap()
                .is_none()
        );
        let audit = store.audit_log(10).await.unwrap();
        assert!(
            audit
                .iter()
                .any(|e| e.action == "user.password" && e.actor == "cli"),
            "{audit:?}"
        );
        store.close().await;
    });
}

#[test]
fn a_locked_sqlite_database_is_a_clear_error_with_exit_code_2() {
    use sqlx::{Connection, Executor};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    assert!(sportello(&db, &["migrate"], &[], None).status.success());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Another process's exclusive transaction holds the file for the whole command.
    let mut holder = rt.block_on(async {
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        c.execute("begin exclusive").await.unwrap();
        c
    });
    let out = sportello(
        &db,
        &["user", "add", "ugo", "--role", "operator"],
        &[("SPORTELLO_DATABASE__TIMEOUT_SECS", "1")],
        Some("una password lunga\n"),
    );
    rt.block_on(async { holder.execute("rollback").await.unwrap() });
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("locked"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
