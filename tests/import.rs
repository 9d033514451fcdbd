//! Import and export of sheets from the console: CSV and TOML archive out; CSV in, with a
//! preview of what changes and the problems by row before anything is saved.

mod support;

use sportello_core::model::Role;
use support::{App, PASSWORD};

#[tokio::test]
async fn an_editor_exports_previews_an_import_and_applies_it() {
    let app = App::sqlite().await;
    app.add_user("elena", Role::Editor).await;
    let ed = app.login("elena", PASSWORD).await;

    let csv = ed.get("/sheets/export.csv").await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("id,"));
    assert!(csv.contains("albo-pretorio-online"));
    let tar = ed.get("/sheets/export.tar").await.bytes().await.unwrap();
    assert_eq!(&tar[257..262], b"ustar");
    let name = b"sheets/albo-pretorio-online.toml";
    assert!(
        tar.windows(name.len()).any(|w| w == name),
        "one TOML file per sheet"
    );

    let bad = "id,title,summary\nuno,Uno\n";
    let resp = ed
        .post_form("/sheets/import", &[("csv", bad), ("action", "preview")])
        .await;
    assert_eq!(resp.status(), 422);
    let page = resp.text().await.unwrap();
    assert!(page.contains("riga 2"), "problems are given by row: {page}");

    let good = "id,title,summary,questions\n\
                orari-biblioteca,Orari della biblioteca,Aperta dal lunedì al sabato.,quando apre la biblioteca\n";
    let page = ed
        .post_form("/sheets/import", &[("csv", good), ("action", "preview")])
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("1 da salvare") && page.contains("nuova"),
        "{page}"
    );
    assert!(page.contains("+ Aperta dal lunedì al sabato."));
    let before = ed.get("/api/v1/sheets/orari-biblioteca").await;
    assert_eq!(before.status(), 404, "a preview saves nothing");

    let done = ed
        .post_form("/sheets/import", &[("csv", good), ("action", "apply")])
        .await;
    assert_eq!(done.status(), 303);
    let after = ed.get("/api/v1/sheets/orari-biblioteca").await;
    assert_eq!(after.status(), 200);
}
