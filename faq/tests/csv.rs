//! CSV import and export, and the TOML round trip.

use std::path::Path;

use sportello_faq::{
    Office, SUMMARY_MAX, SheetStatus, export_csv, load_sheets, parse_csv, sheet_to_toml,
    write_toml_dir,
};

fn office(id: &str) -> Office {
    Office {
        id: id.into(),
        name: id.to_uppercase(),
        email: String::new(),
        phone: String::new(),
        address: String::new(),
        hours: String::new(),
    }
}

#[test]
fn a_semicolon_csv_with_alias_columns_is_imported() {
    let text = "id;question;answer;tag;questions\n\
                a;Come rinnovo?;Si rinnova online.;documenti, anagrafe;come si rinnova | rinnovo  |\n";
    let loaded = parse_csv(text, Path::new("faq.csv"), &[]).unwrap();
    let s = &loaded.sheets[0];
    assert_eq!(s.title, "Come rinnovo?");
    assert_eq!(s.summary, "Si rinnova online.");
    assert_eq!(s.tags, ["documenti", "anagrafe"]);
    assert_eq!(s.questions, ["come si rinnova", "rinnovo"]);
    assert!(loaded.warnings.is_empty());
}

#[test]
fn a_row_with_the_wrong_number_of_columns_is_reported_with_its_line() {
    let text = "id,title,summary\na,A,x\nb,B\nc,C,z,extra\n";
    let problems = parse_csv(text, Path::new("faq.csv"), &[]).unwrap_err().0;
    let lines: Vec<_> = problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, [Some(3), Some(4)], "{problems:#?}");
    assert!(problems[0].message.contains("2 columns"));
}

#[test]
fn unknown_columns_are_warned_about_not_dropped_silently() {
    let text = "id,title,summary,categoria\na,A,x,varie\n";
    let loaded = parse_csv(text, Path::new("faq.csv"), &[]).unwrap();
    assert_eq!(loaded.warnings.len(), 1);
    assert!(loaded.warnings[0].message.contains("categoria"));
}

#[test]
fn missing_required_columns_are_problems() {
    let problems = parse_csv("id,title\na,A\n", Path::new("f.csv"), &[])
        .unwrap_err()
        .0;
    assert!(problems[0].message.contains("summary"));
}

#[test]
fn a_long_answer_becomes_the_body_with_a_derived_summary_and_a_warning() {
    let sentence = "Questa è una frase della risposta lunga. ";
    let answer = sentence.repeat(60);
    let text = format!("id,title,summary\na,A,\"{answer}\"\n");
    let loaded = parse_csv(&text, Path::new("faq.csv"), &[]).unwrap();
    let s = &loaded.sheets[0];
    assert_eq!(s.body, answer);
    assert!(s.summary.chars().count() <= SUMMARY_MAX);
    assert!(
        s.summary.ends_with('.'),
        "cut at a sentence: {:?}",
        s.summary
    );
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(loaded.warnings[0].line, Some(2));
}

#[test]
fn duplicate_ids_and_unknown_offices_in_a_csv_are_reported_with_lines() {
    let text = "id,title,summary,office\na,A,x,urp\na,B,y,urp\nc,C,z,altro\n";
    let problems = parse_csv(text, Path::new("f.csv"), &[office("urp")])
        .unwrap_err()
        .0;
    assert!(
        problems
            .iter()
            .any(|p| p.line == Some(3) && p.message.contains("duplicate"))
    );
    assert!(
        problems
            .iter()
            .any(|p| p.line == Some(4) && p.message.contains("unknown office"))
    );
}

#[test]
fn load_sheets_accepts_a_csv_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("faq.csv");
    std::fs::write(&path, "id,title,summary\na,A,x\n").unwrap();
    assert_eq!(load_sheets(&path, &[]).unwrap().sheets[0].id, "a");
}

#[test]
fn a_round_trip_toml_to_csv_to_toml_loses_nothing() {
    let mut sheets = sportello_faq::testing::sheets();
    sheets[0].short = Some("Sconti per le donne residenti; si chiede online.".into());
    sheets[0].office = Some("urp".into());
    sheets[0].link = Some("https://example.org/carta-rosa".into());
    sheets[0].tags = vec!["donne".into(), "sconti".into()];
    sheets[0].body =
        "## Chi può\n\nLe donne residenti, \"anche\" straniere.\n\n- punto; uno\n".into();
    sheets.sort_by(|a, b| a.id.cmp(&b.id));
    let offices = [office("urp")];

    let toml_dir = tempfile::tempdir().unwrap();
    write_toml_dir(&sheets, toml_dir.path()).unwrap();
    let from_toml = load_sheets(toml_dir.path(), &offices).unwrap().sheets;
    assert_eq!(from_toml, sheets);

    let mut csv = Vec::new();
    export_csv(&from_toml, &mut csv).unwrap();
    let from_csv = parse_csv(
        std::str::from_utf8(&csv).unwrap(),
        Path::new("x.csv"),
        &offices,
    )
    .unwrap();
    assert!(from_csv.warnings.is_empty());
    assert_eq!(from_csv.sheets, sheets);

    let back = tempfile::tempdir().unwrap();
    write_toml_dir(&from_csv.sheets, back.path()).unwrap();
    assert_eq!(load_sheets(back.path(), &offices).unwrap().sheets, sheets);
    assert!(
        sheets
            .iter()
            .any(|s| s.status == SheetStatus::Draft && !s.handoff)
    );
    assert!(sheets.iter().any(|s| s.handoff));
}

#[test]
fn a_sheet_is_written_as_toml_with_its_keys_in_documented_order() {
    let text = sheet_to_toml(&sportello_faq::testing::sheets()[0]);
    let id = text.find("id =").unwrap();
    let title = text.find("title =").unwrap();
    let questions = text.find("questions =").unwrap();
    assert!(id < title && title < questions, "{text}");
    assert!(!text.contains("handoff"), "defaults are left out: {text}");
}
