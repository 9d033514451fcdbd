//! Import and export of sheets from the console: CSV and TOML archive out; CSV (pasted or
//! uploaded) and TOML archive in, with a preview of what changes and the problems by row, or
//! by file and line, before anything is saved.

use sportello_core::model::Role;
use sportello_testkit::{PASSWORD, TestApp};

#[tokio::test]
async fn an_editor_exports_previews_an_import_and_applies_it() {
    let app = TestApp::sqlite().await;
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

/// A tar archive of `(path, text)` files.
fn archive(files: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, text) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, path, text.as_bytes()).unwrap();
    }
    b.into_inner().unwrap()
}

/// The `*.toml` files of a tar archive.
fn read_archive(bytes: &[u8]) -> Vec<(String, String)> {
    use std::io::Read;
    let mut a = tar::Archive::new(bytes);
    a.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let mut text = String::new();
            e.read_to_string(&mut text).unwrap();
            (path, text)
        })
        .collect()
}

#[tokio::test]
async fn an_editor_uploads_the_exported_toml_archive_changed_and_a_csv_file() {
    let app = TestApp::sqlite().await;
    app.add_user("elena", Role::Editor).await;
    let ed = app.login("elena", PASSWORD).await;
    let exported = ed.get("/sheets/export.tar").await.bytes().await.unwrap();
    let mut files = read_archive(&exported);
    let sheets = files.len();
    assert!(sheets >= 40, "every sample sheet: {sheets}");

    // The unchanged archive: nothing to save.
    let page = ed
        .post_multipart(
            "/sheets/import",
            &[("action", "preview")],
            Some(("schede.tar", exported.to_vec())),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("0 da salvare, {sheets} invariate")),
        "the round trip changes nothing: {page}"
    );

    // One answer changed, one new sheet: the preview shows both, and keeps the archive.
    let albo = files
        .iter_mut()
        .find(|(p, _)| p == "sheets/albo-pretorio-online.toml")
        .unwrap();
    let summary_line = albo
        .1
        .lines()
        .find(|l| l.starts_with("summary = "))
        .unwrap()
        .to_string();
    albo.1 = albo.1.replace(
        &summary_line,
        "summary = \"L'albo è online: TESTO CARICATO.\"",
    );
    files.push((
        "sheets/orari-biblioteca.toml".into(),
        "id = \"orari-biblioteca\"\ntitle = \"Orari della biblioteca\"\nsummary = \"Aperta dal lunedì al sabato.\"\n".into(),
    ));
    let changed: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let upload = archive(&changed);
    let resp = ed
        .post_multipart(
            "/sheets/import",
            &[("action", "preview")],
            Some(("schede-modificate.tar", upload.clone())),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    assert!(page.contains("2 da salvare"), "{page}");
    assert!(
        page.contains("+ L'albo è online: TESTO CARICATO."),
        "{page}"
    );
    assert!(page.contains("orari-biblioteca") && page.contains("nuova"));
    assert!(
        page.contains("id=\"archive-kept\""),
        "the archive waits for «Importa»"
    );
    let before = ed.get("/api/v1/sheets/orari-biblioteca").await;
    assert_eq!(before.status(), 404, "a preview saves nothing");

    // «Importa» sends the archive kept in the page, without choosing the file again.
    let kept = page
        .split("name=\"archive\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    let done = ed
        .post_multipart(
            "/sheets/import",
            &[
                ("action", "apply"),
                ("archive_name", "schede-modificate.tar"),
                ("archive", &kept),
            ],
            None,
        )
        .await;
    assert_eq!(done.status(), 303);
    let albo: serde_json::Value = ed
        .get("/api/v1/sheets/albo-pretorio-online")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(albo["sheet"]["summary"], "L'albo è online: TESTO CARICATO.");
    assert_eq!(
        ed.get("/api/v1/sheets/orari-biblioteca").await.status(),
        200
    );

    // A broken file in an archive: nothing imported, the file and line named.
    let broken = archive(&[
        (
            "sheets/ok.toml",
            "id = \"ok\"\ntitle = \"Ok\"\nsummary = \"Sì.\"\n",
        ),
        (
            "sheets/rotta.toml",
            "id = \"rotta\"\ntitle = \"Rotta\"\nsummary = \"x\"\ncolore = \"rosso\"\n",
        ),
    ]);
    let resp = ed
        .post_multipart(
            "/sheets/import",
            &[("action", "apply")],
            Some(("rotte.tar", broken)),
        )
        .await;
    assert_eq!(resp.status(), 422);
    let page = resp.text().await.unwrap();
    assert!(page.contains("sheets/rotta.toml, riga 4"), "{page}");
    assert_eq!(
        ed.get("/api/v1/sheets/ok").await.status(),
        404,
        "nothing imported"
    );

    // A CSV file, uploaded: the same preview as pasted text, the text kept for «Importa».
    let csv = "id,title,summary\norari-piscina,Orari della piscina,Aperta tutti i giorni.\n";
    let page = ed
        .post_multipart(
            "/sheets/import",
            &[("action", "preview")],
            Some(("nuove.csv", csv.as_bytes().to_vec())),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("1 da salvare") && page.contains("orari-piscina"),
        "{page}"
    );
    let latin1 = ed
        .post_multipart(
            "/sheets/import",
            &[("action", "preview")],
            Some((
                "vecchio.csv",
                b"id,title,summary\nx,Perch\xe9,No\n".to_vec(),
            )),
        )
        .await;
    assert_eq!(latin1.status(), 422);
    assert!(
        latin1
            .text()
            .await
            .unwrap()
            .contains("vecchio.csv: non è testo UTF-8")
    );
}

#[tokio::test]
async fn an_upload_without_the_csrf_token_or_over_the_limit_is_refused() {
    let app = TestApp::sqlite().await;
    app.add_user("elena", Role::Editor).await;
    let ed = app.login("elena", PASSWORD).await;
    let form = reqwest::multipart::Form::new()
        .text("action", "apply")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"id,title,summary\nx,X,Y\n".to_vec())
                .file_name("x.csv"),
        );
    let resp = ed
        .client
        .post(format!("{}/sheets/import", app.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403, "no CSRF token in the form");
    assert_eq!(ed.get("/api/v1/sheets/x").await.status(), 404);

    let big = vec![b'a'; 17 << 20];
    let resp = ed
        .post_multipart(
            "/sheets/import",
            &[("action", "preview")],
            Some(("big.csv", big)),
        )
        .await;
    assert_eq!(resp.status(), 413);
}
