//! The editors' workshop over `sportello serve`, on SQLite and PostgreSQL: find a sheet,
//! keep a change as a draft the bot does not use, try a question against both, publish,
//! read the revision's diff and restore the earlier one.

use serde_json::Value;
use sportello_core::model::Role;
use sportello_testkit::{PASSWORD, Session, TestApp};

const ID: &str = "albo-pretorio-online";
const NEW_QUESTION: &str = "come si disinfesta dalla zanzara tigre";

async fn sheet(s: &Session) -> Value {
    s.get(&format!("/api/v1/sheets/{ID}"))
        .await
        .json()
        .await
        .unwrap()
}

/// The form's fields for the stored sheet, with `summary` and an extra phrasing.
fn fields(stored: &Value, summary: &str, action: &str, try_text: &str) -> Vec<(String, String)> {
    let s = &stored["sheet"];
    let join = |k: &str, sep: &str| {
        s[k].as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(sep)
            })
            .unwrap_or_default()
    };
    let text = |k: &str| s[k].as_str().unwrap_or_default().to_string();
    vec![
        ("title".into(), text("title")),
        ("summary".into(), summary.to_string()),
        ("short".into(), text("short")),
        (
            "questions".into(),
            format!("{}\n{NEW_QUESTION}", join("questions", "\n")),
        ),
        ("keywords".into(), join("keywords", ", ")),
        ("tags".into(), join("tags", ", ")),
        ("office".into(), text("office")),
        ("link".into(), text("link")),
        ("body".into(), text("body")),
        ("action".into(), action.to_string()),
        ("try_text".into(), try_text.to_string()),
    ]
}

async fn post(s: &Session, path: &str, f: &[(String, String)]) -> reqwest::Response {
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    s.post_form(path, &f).await
}

#[tokio::test]
async fn an_editor_drafts_tries_publishes_and_restores_a_sheet_on_both_backends() {
    for app in [TestApp::sqlite().await, TestApp::postgres().await] {
        app.add_user("elena", Role::Editor).await;
        let ed = app.login("elena", PASSWORD).await;
        let list = ed
            .get("/sheets?q=albo+pretorio")
            .await
            .text()
            .await
            .unwrap();
        assert!(list.contains("Albo pretorio online"));
        assert!(
            !list.contains("pink-card-richiesta"),
            "only sheets with the words"
        );
        let by_tag = ed
            .get("/sheets?tag=albo&status=published")
            .await
            .text()
            .await
            .unwrap();
        assert!(by_tag.contains(ID));

        let before = sheet(&ed).await;
        let old_summary = before["sheet"]["summary"].as_str().unwrap().to_string();
        let path = format!("/sheets/{ID}");

        let empty = post(&ed, &path, &fields(&before, "  ", "publish", "")).await;
        assert_eq!(empty.status(), 422, "an empty answer is refused");
        let page = empty.text().await.unwrap();
        assert!(page.contains("summary-error") && page.contains("campo obbligatorio"));

        let new_summary = "L'albo pretorio è online: NUOVO TESTO.";
        let saved = post(&ed, &path, &fields(&before, new_summary, "draft", "")).await;
        assert_eq!(saved.status(), 303);
        assert_eq!(
            sheet(&ed).await["sheet"]["summary"],
            old_summary.as_str(),
            "a draft is not published"
        );
        let page = ed.get(&path).await.text().await.unwrap();
        assert!(page.contains("con modifiche in bozza") && page.contains("NUOVO TESTO"));
        assert!(
            page.contains("Revisione 2</strong> (bozza)"),
            "a draft save is a numbered revision"
        );
        let again = post(&ed, &path, &fields(&before, new_summary, "draft", "")).await;
        assert_eq!(again.status(), 303);
        let page = ed.get(&path).await.text().await.unwrap();
        assert!(
            page.contains("Revisione 2</strong> (bozza)") && !page.contains("Revisione 3"),
            "saving the same draft again adds no revision"
        );

        let tried = post(
            &ed,
            &path,
            &fields(&before, new_summary, "try", NEW_QUESTION),
        )
        .await;
        let page = tried.text().await.unwrap();
        let (published, draft) = page.split_once("Con questa versione").unwrap();
        let published = &published[published.find("Con le schede pubblicate").unwrap()..];
        assert!(
            !published.contains("risponde con una scheda"),
            "{published}"
        );
        assert!(
            draft.contains("risponde con una scheda") && draft.contains(ID),
            "{draft}"
        );

        let done = post(&ed, &path, &fields(&before, new_summary, "publish", "")).await;
        assert_eq!(done.status(), 303);
        assert_eq!(sheet(&ed).await["sheet"]["summary"], new_summary);
        let page = ed.get(&path).await.text().await.unwrap();
        assert!(
            page.contains("Revisione 3</strong> (pubblicata)")
                && page.contains("NUOVO TESTO.</ins>")
        );
        assert!(
            page.contains(&format!("+ {NEW_QUESTION}")),
            "the diff lists the new phrasing"
        );
        assert!(!page.contains("con modifiche in bozza"));

        let restored = ed.post_form(&format!("/sheets/{ID}/restore/1"), &[]).await;
        assert_eq!(restored.status(), 303);
        let after = sheet(&ed).await;
        assert_eq!(after["sheet"]["summary"], old_summary.as_str());
        assert_eq!(after["revision"], 4);

        // A draft revision comes back as the draft, and the bot keeps the published text.
        let back = ed.post_form(&format!("/sheets/{ID}/restore/2"), &[]).await;
        assert_eq!(back.status(), 303);
        assert_eq!(
            sheet(&ed).await["sheet"]["summary"],
            old_summary.as_str(),
            "restoring a draft revision publishes nothing"
        );
        let page = ed.get(&path).await.text().await.unwrap();
        assert!(
            page.contains("con modifiche in bozza")
                && page.contains("Revisione 5</strong> (bozza)")
                && page.contains("NUOVO TESTO"),
            "the draft is back as revision 5"
        );
    }
}

#[tokio::test]
async fn a_new_sheet_starts_as_a_draft_and_its_id_must_be_free() {
    let app = TestApp::sqlite().await;
    let admin = app.admin().await;
    let form = |id: &str, action: &str| {
        vec![
            ("id".to_string(), id.to_string()),
            ("title".into(), "Orari della biblioteca".into()),
            (
                "summary".into(),
                "Aperta dal lunedì al sabato, 9-19.".into(),
            ),
            ("questions".into(), "quando apre la biblioteca".into()),
            ("action".into(), action.into()),
        ]
    };
    let taken = post(&admin, "/sheets/new", &form(ID, "draft")).await;
    assert_eq!(taken.status(), 422);
    assert!(taken.text().await.unwrap().contains("esiste già"));
    let made = post(&admin, "/sheets/new", &form("orari-biblioteca", "draft")).await;
    assert_eq!(made.status(), 303);
    let drafts = admin
        .get("/sheets?status=draft")
        .await
        .text()
        .await
        .unwrap();
    assert!(drafts.contains("orari-biblioteca"));
    let api = admin.get("/api/v1/sheets/orari-biblioteca").await;
    assert_eq!(api.status(), 404, "not a sheet until published");
}

#[tokio::test]
async fn proposed_phrasings_are_approved_or_rejected_and_unanswered_questions_are_grouped() {
    let app = TestApp::sqlite().await;
    app.add_user("elena", Role::Editor).await;
    let ed = app.login("elena", PASSWORD).await;
    let c = app
        .queue_conversation("telegram", "Anna", "aiuto", None)
        .await;
    let store = &app.store;
    let yes = store
        .propose_phrasing(ID, "dove leggo gli atti ufficiali", c, None, "olga")
        .await
        .unwrap();
    let no = store
        .propose_phrasing(ID, "<b>boh</b>", c, None, "olga")
        .await
        .unwrap();
    let now = store.now_ms();
    for (i, text) in [
        "orari della biblioteca",
        "quali sono gli orari della biblioteca",
        "dove si paga il bollo auto",
    ]
    .iter()
    .enumerate()
    {
        sqlx::query(
            "insert into messages (conversation_id, channel, direction, author, platform_id, text, \
             decision, reason, created_at) values ($1, 'telegram', 'in', 'citizen', $2, $3, 'handoff', 'no_match', $4)",
        )
        .bind(c)
        .bind(format!("u{i}"))
        .bind(*text)
        .bind(now - 1_000)
        .execute(store.pool())
        .await
        .unwrap();
    }
    let page = ed.get("/sheets/learn").await.text().await.unwrap();
    assert!(page.contains("dove leggo gli atti ufficiali"));
    assert!(
        page.contains("&lt;b&gt;boh&lt;/b&gt;"),
        "proposals are escaped"
    );
    let biblioteca = page.find("orari della biblioteca").unwrap();
    let bollo = page.find("dove si paga il bollo auto").unwrap();
    assert!(biblioteca < bollo, "the larger group comes first");
    assert!(page.contains("— 2 volte"));

    let ok = ed
        .post_form(&format!("/sheets/learn/phrasings/{yes}/approve"), &[])
        .await;
    assert_eq!(ok.status(), 303);
    let ko = ed
        .post_form(&format!("/sheets/learn/phrasings/{no}/reject"), &[])
        .await;
    assert_eq!(ko.status(), 303);
    let again = ed
        .post_form(&format!("/sheets/learn/phrasings/{no}/approve"), &[])
        .await;
    assert_eq!(again.status(), 409, "a decided phrasing stays decided");
    let questions = sheet(&ed).await["sheet"]["questions"].clone();
    let questions: Vec<&str> = questions
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(questions.contains(&"dove leggo gli atti ufficiali"));
    assert!(!questions.contains(&"<b>boh</b>"));

    let taught = ed
        .post_form(
            "/sheets/learn/teach",
            &[("sheet", ID), ("text", "dove si paga il bollo auto")],
        )
        .await;
    assert_eq!(taught.status(), 303);
    let questions = sheet(&ed).await["sheet"]["questions"].to_string();
    assert!(questions.contains("dove si paga il bollo auto"));
    let new = ed
        .get("/sheets/new?question=orari+della+biblioteca")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        new.contains(">orari della biblioteca</textarea>"),
        "a group starts a new sheet"
    );
}
