//! `/stats`, `/stats.csv` and `GET /api/v1/stats` over `sportello serve`, on SQLite and
//! PostgreSQL: the figures of a small known history, as a manager reads them on the page,
//! in the CSV and in the JSON; citizens' text is shown escaped.

use sportello_core::model::Role;
use sportello_core::testing::history::{History, rome_nov as at};
use sportello_testkit::{PASSWORD, TestApp};

const PERIOD: &str = "from=2026-11-23&to=2026-11-29";

/// Two answers through the bot, one conversation for an operator answered in 30 working
/// minutes, a 👍, and a delivery that failed with a reason holding markup.
async fn history(app: &TestApp) {
    let h = History { store: &app.store };
    let who = h.contact("telegram", "anna").await;
    let c = h
        .conversation(who, "telegram", at(23, 10, 0), [None; 3])
        .await;
    let m = h
        .message(
            c,
            "telegram",
            at(23, 10, 0),
            "answer",
            "matched",
            Some("albo-pretorio-online"),
        )
        .await;
    h.message(
        c,
        "telegram",
        at(23, 10, 1),
        "answer",
        "matched",
        Some("albo-pretorio-online"),
    )
    .await;
    h.feedback(
        c,
        "telegram",
        Some(m),
        Some("albo-pretorio-online"),
        "useful",
        None,
        at(23, 10, 2),
    )
    .await;
    let esc = at(24, 16, 50);
    let q = h
        .conversation(who, "email", esc, [Some(esc), Some(at(25, 9, 20)), None])
        .await;
    let m2 = h
        .message(q, "email", esc, "handoff", "no_match", None)
        .await;
    h.delivery(
        m2,
        q,
        "email",
        esc,
        "failed",
        Some("<script>alert(1)</script>"),
    )
    .await;
    // The history was written into past days, as an import with SQL would: the statistics'
    // daily rollup is dropped so that they are counted again.
    app.store.clear_stats_rollup().await.unwrap();
}

#[tokio::test]
async fn a_manager_reads_the_week_on_the_page_in_csv_and_in_json_on_both_backends() {
    for app in [TestApp::sqlite().await, TestApp::postgres().await] {
        history(&app).await;
        app.add_user("elena", Role::Editor).await;
        let editor = app.login("elena", PASSWORD).await;

        let page = editor.get(&format!("/stats?{PERIOD}")).await;
        assert_eq!(page.status(), 200);
        let page = page.text().await.unwrap();
        assert!(page.contains("Statistiche dell'ufficio"));
        assert!(
            page.contains("<svg id=\"chart-messages\""),
            "a server-drawn chart"
        );
        assert!(
            page.contains("3 messaggi in tutto"),
            "the chart states its figures"
        );
        assert!(page.contains("66,7%"), "two answers of three messages");
        assert!(page.contains("30 min"), "first response in working minutes");
        assert!(page.contains("albo-pretorio-online"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(
            !page.contains("<script>alert(1)"),
            "a platform's text is escaped"
        );

        let csv = editor.get(&format!("/stats.csv?{PERIOD}&by=week")).await;
        assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
        let csv = csv.text().await.unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].starts_with("periodo,canale,messaggi,conversazioni"));
        assert_eq!(
            lines[1],
            "2026-11-23,tutti,3,2,2,0,0,1,0,0.6667,0.0000,0.3333,1"
        );
        assert!(
            lines.contains(&"2026-11-23..2026-11-29,email,1,1,0,0,0,1,0,0.0000,0.0000,1.0000,1")
        );

        let json: serde_json::Value = editor
            .get(&format!("/api/v1/stats?{PERIOD}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(json["totals"]["messages"], 3);
        assert_eq!(json["periods"].as_array().unwrap().len(), 7);
        assert_eq!(json["first_response"]["median_ms"], 30 * 60_000);
        assert_eq!(json["feedback"]["response_rate"], 0.5);
        assert_eq!(json["feedback"]["share_positive"], 1.0);
        assert_eq!(json["top_sheets"][0]["sheet_id"], "albo-pretorio-online");
        assert_eq!(json["top_sheets"][0]["count"], 2);
        assert!(json["health"].is_array());
    }
}

#[tokio::test]
async fn an_answer_the_bot_gives_counts_for_its_sheet() {
    let app = TestApp::sqlite().await;
    app.citizen_writes(
        "telegram",
        "chat-7",
        "dove trovo l'albo pretorio",
        Vec::new(),
    )
    .await;
    let admin = app.admin().await;
    let json: serde_json::Value = admin.get("/api/v1/stats").await.json().await.unwrap();
    assert_eq!(json["totals"]["answer"], 1, "{json}");
    assert_eq!(json["top_sheets"][0]["sheet_id"], "albo-pretorio-online");
}

#[tokio::test]
async fn a_wrong_period_is_refused_with_the_field_named() {
    let app = TestApp::sqlite().await;
    let admin = app.admin().await;
    let resp = admin.get("/api/v1/stats?from=2026-13-01").await;
    assert_eq!(resp.status(), 422);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(body["fields"]["from"].is_string(), "{body}");
    let resp = admin
        .get("/api/v1/stats?from=2026-12-01&to=2026-11-01")
        .await;
    assert_eq!(resp.status(), 422);
    let resp = admin.get("/stats?by=month").await;
    assert_eq!(resp.status(), 422);
}
