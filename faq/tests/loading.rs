//! Loading sheets from TOML folders: every problem, with its file and line.

use std::path::Path;

use sportello_faq::{Office, Problem, load_offices, load_sheets, load_synonyms, parse_sheet_files};

fn offices() -> Vec<Office> {
    vec![Office {
        id: "urp".into(),
        name: "URP".into(),
        email: String::new(),
        phone: String::new(),
        address: String::new(),
        hours: String::new(),
    }]
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn problems_of(dir: &Path) -> Vec<Problem> {
    load_sheets(dir, &offices())
        .expect_err("problems expected")
        .0
}

fn find<'a>(problems: &'a [Problem], file: &str, needle: &str) -> &'a Problem {
    problems
        .iter()
        .find(|p| p.file.ends_with(file) && p.message.contains(needle))
        .unwrap_or_else(|| panic!("no problem {needle:?} in {file}: {problems:#?}"))
}

const GOOD: &str = "id = \"a\"\ntitle = \"A\"\nsummary = \"Testo.\"\noffice = \"urp\"\n";

#[test]
fn a_valid_folder_loads_sorted_by_id() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "2.toml", &GOOD.replace("\"a\"", "\"b\""));
    write(dir.path(), "1.toml", GOOD);
    write(dir.path(), "README.md", "not a sheet");
    let loaded = load_sheets(dir.path(), &offices()).unwrap();
    let ids: Vec<_> = loaded.sheets.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
}

#[test]
fn every_problem_is_reported_with_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.toml", GOOD);
    write(
        dir.path(),
        "dup.toml",
        "title = \"B\"\nid = \"a\"\nsummary = \"x\"\n",
    );
    write(
        dir.path(),
        "keys.toml",
        "id = \"k\"\ntitle = \"K\"\nsummary = \"x\"\ncolour = \"red\"\nsumary = \"y\"\n",
    );
    write(dir.path(), "missing.toml", "id = \"m\"\n\ntitle = \"M\"\n");
    write(
        dir.path(),
        "office.toml",
        "id = \"o\"\ntitle = \"O\"\nsummary = \"x\"\n\noffice = \"nowhere\"\n",
    );
    let long = "parola ".repeat(200);
    write(
        dir.path(),
        "long.toml",
        &format!(
            "id = \"l\"\ntitle = \"L\"\nsummary = \"{long}\"\nshort = \"{}\"\n",
            "x".repeat(201)
        ),
    );
    write(
        dir.path(),
        "broken.toml",
        "id = \"z\"\ntitle = \"Z\"\nsummary = \"unterminated\n",
    );
    write(
        dir.path(),
        "types.toml",
        "id = \"t\"\ntitle = \"T\"\nsummary = \"x\"\nhandoff = \"yes\"\n",
    );
    std::fs::write(
        dir.path().join("latin1.toml"),
        b"id = \"u\"\ntitle = \"Citt\xe0\"\n",
    )
    .unwrap();
    let problems = problems_of(dir.path());

    assert_eq!(find(&problems, "dup.toml", "duplicate id").line, Some(2));
    assert_eq!(
        find(&problems, "keys.toml", "unknown key `colour`").line,
        Some(4)
    );
    assert_eq!(
        find(&problems, "keys.toml", "unknown key `sumary`").line,
        Some(5)
    );
    find(&problems, "missing.toml", "missing field `summary`");
    assert_eq!(
        find(&problems, "office.toml", "unknown office").line,
        Some(5)
    );
    assert_eq!(
        find(&problems, "long.toml", "summary: is 1400 characters").line,
        Some(3)
    );
    assert_eq!(
        find(&problems, "long.toml", "short: is 201 characters").line,
        Some(4)
    );
    assert_eq!(find(&problems, "broken.toml", "").line, Some(3));
    assert_eq!(find(&problems, "types.toml", "").line, Some(4));
    find(&problems, "latin1.toml", "not valid UTF-8");
    assert!(!problems.iter().any(|p| p.file.ends_with("a.toml")));
}

#[test]
fn a_missing_folder_is_one_problem_naming_it() {
    let problems = problems_of(Path::new("no/such/folder"));
    assert_eq!(problems.len(), 1);
    assert!(problems[0].to_string().contains("no/such/folder"));
}

#[test]
fn offices_and_synonyms_load_from_toml() {
    let dir = tempfile::tempdir().unwrap();
    let offices = dir.path().join("offices.toml");
    std::fs::write(
        &offices,
        "[[office]]\nid = \"urp\"\nname = \"URP\"\nphone = \"800\"\n",
    )
    .unwrap();
    assert_eq!(load_offices(&offices).unwrap()[0].phone, "800");
    let synonyms = dir.path().join("synonyms.toml");
    std::fs::write(
        &synonyms,
        "groups = [[\"CIE\", \"carta d'identità elettronica\"]]\n",
    )
    .unwrap();
    assert_eq!(load_synonyms(&synonyms).unwrap().groups[0].len(), 2);
    std::fs::write(&synonyms, "groups = 3\n").unwrap();
    assert_eq!(load_synonyms(&synonyms).unwrap_err().0[0].line, Some(1));
}

#[test]
fn files_held_in_memory_load_and_report_problems_by_name_and_line() {
    let files = |extra: (&str, &[u8])| {
        vec![
            (
                "sheets/b.toml".to_string(),
                GOOD.replace("\"a\"", "\"b\"").into_bytes(),
            ),
            ("sheets/a.toml".to_string(), GOOD.as_bytes().to_vec()),
            (extra.0.to_string(), extra.1.to_vec()),
        ]
    };
    let ok = parse_sheet_files(
        files(("sheets/c.toml", GOOD.replace("\"a\"", "\"c\"").as_bytes())),
        &offices(),
    )
    .unwrap();
    let ids: Vec<_> = ok.sheets.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);

    let bad = parse_sheet_files(
        files((
            "sheets/bad.toml",
            b"id = \"x\"\ntitle = \"X\"\nsummary = \"x\"\ncolour = 1\n",
        )),
        &offices(),
    )
    .expect_err("an unknown key")
    .0;
    assert_eq!(
        find(&bad, "sheets/bad.toml", "unknown key `colour`").line,
        Some(4)
    );
    let latin1 = parse_sheet_files(
        files(("sheets/l.toml", b"id = \"perch\xe9\"\n")),
        &offices(),
    )
    .expect_err("not UTF-8")
    .0;
    assert_eq!(find(&latin1, "sheets/l.toml", "UTF-8").line, Some(1));
    let dup = parse_sheet_files(files(("sheets/again.toml", GOOD.as_bytes())), &offices())
        .expect_err("a duplicate id")
        .0;
    assert_eq!(
        find(&dup, "sheets/again.toml", "duplicate id").line,
        Some(1)
    );
}
