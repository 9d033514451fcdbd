//! CSV import and export, and writing sheets as TOML files.
//!
//! Import reads a header row and finds columns by name (case-insensitive): `id`,
//! `question` or `title`, `answer` or `summary`, `tags` or `tag` (comma-separated),
//! `questions` (phrasings joined by `|`), `link`, `office`, and, as written by
//! [`export_csv`], `short`, `keywords` (comma-separated), `body`, `handoff` and `status`.
//! The delimiter is `;` when the header holds more `;` than `,`, else `,`.
//!
//! An unknown column is a warning (its values are ignored, and the warning says so), not
//! an error, so that a real FAQ export with extra columns loads. An answer longer than the
//! summary limit is kept whole as the body, and the summary is derived from it, with a
//! warning.

use std::io::Write;
use std::path::Path;

use crate::load::{Located, check_all, read_text};
use crate::sheet::{
    Loaded, Office, Problem, Problems, SUMMARY_MAX, Sheet, SheetStatus, derive_summary,
};

/// The columns [`export_csv`] writes, in order.
pub const EXPORT_COLUMNS: [&str; 12] = [
    "id",
    "title",
    "summary",
    "short",
    "questions",
    "keywords",
    "tags",
    "office",
    "link",
    "body",
    "handoff",
    "status",
];

/// The field a column name stands for.
fn column_field(name: &str) -> Option<&'static str> {
    Some(match name.trim().to_lowercase().as_str() {
        "id" => "id",
        "question" | "title" => "title",
        "answer" | "summary" => "summary",
        "tags" | "tag" => "tags",
        "questions" => "questions",
        "link" => "link",
        "office" => "office",
        "short" => "short",
        "keywords" => "keywords",
        "body" => "body",
        "handoff" => "handoff",
        "status" => "status",
        _ => return None,
    })
}

fn detect_delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("");
    if header.matches(';').count() > header.matches(',').count() {
        b';'
    } else {
        b','
    }
}

fn split_list(value: &str, sep: char) -> Vec<String> {
    value
        .split(sep)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn optional(value: &str) -> Option<String> {
    let v = value.trim();
    (!v.is_empty()).then(|| v.to_string())
}

/// Import sheets from a CSV file with a header row (`;` when the header holds more `;`
/// than `,`, else `,`).
///
/// Columns by name, case-insensitive: `id`, `question` or `title`, `answer` or `summary`,
/// `tags` or `tag` (comma-separated), `questions` (joined by `|`), `link`, `office`, and
/// `short`, `keywords`, `body`, `handoff`, `status` as [`export_csv`] writes them. An
/// unknown column is a warning and its values are ignored; a missing `id`, title or answer
/// column is an error. An answer longer than [`SUMMARY_MAX`] with no `body` becomes the
/// body, the summary is derived from it ([`derive_summary`]) and a warning says so. Every
/// problem (rows with the wrong number of columns, duplicate ids, unknown offices,
/// over-long texts) is reported with its line.
pub fn import_csv(path: &Path, offices: &[Office]) -> Result<Loaded, Problems> {
    let text = read_text(path).map_err(|p| Problems(vec![p]))?;
    parse_csv(&text, path, offices)
}

/// Parse CSV text as [`import_csv`] does; `path` names it in problems.
pub fn parse_csv(text: &str, path: &Path, offices: &[Office]) -> Result<Loaded, Problems> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(detect_delimiter(text))
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(Problems(vec![Problem::new(path, Some(1), e.to_string())])),
    };
    let mut columns: Vec<Option<&'static str>> = Vec::new();
    for name in headers.iter() {
        let field = column_field(name);
        if field.is_none() {
            warnings.push(Problem::new(
                path,
                Some(1),
                format!("unknown column {name:?} ignored"),
            ));
        } else if columns.contains(&field) {
            problems.push(Problem::new(
                path,
                Some(1),
                format!("column {name:?} repeats the {} field", field.unwrap_or("")),
            ));
        }
        columns.push(field);
    }
    for required in ["id", "title", "summary"] {
        if !columns.contains(&Some(required)) {
            problems.push(Problem::new(
                path,
                Some(1),
                format!("missing column for `{required}`"),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(Problems(problems));
    }
    let mut sheets = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize);
                problems.push(Problem::new(path, line, e.to_string()));
                continue;
            }
        };
        let line = record.position().map(|p| p.line() as usize);
        if record.len() != headers.len() {
            problems.push(Problem::new(
                path,
                line,
                format!(
                    "row has {} columns, the header has {}",
                    record.len(),
                    headers.len()
                ),
            ));
            continue;
        }
        if record.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        if let Some(located) =
            row_sheet(&record, &columns, path, line, &mut problems, &mut warnings)
        {
            sheets.push(located);
        }
    }
    check_all(&sheets, offices, &mut problems);
    if !problems.is_empty() {
        return Err(Problems(problems));
    }
    let mut sheets: Vec<Sheet> = sheets.into_iter().map(|l| l.sheet).collect();
    sheets.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Loaded { sheets, warnings })
}

fn row_sheet(
    record: &::csv::StringRecord,
    columns: &[Option<&'static str>],
    path: &Path,
    line: Option<usize>,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> Option<Located> {
    let mut sheet = Sheet::default();
    let before = problems.len();
    for (value, field) in record.iter().zip(columns) {
        match field.unwrap_or("") {
            "id" => sheet.id = value.trim().to_string(),
            "title" => sheet.title = value.to_string(),
            "summary" => sheet.summary = value.to_string(),
            "short" => sheet.short = optional(value),
            "questions" => sheet.questions = split_list(value, '|'),
            "keywords" => sheet.keywords = split_list(value, ','),
            "tags" => sheet.tags = split_list(value, ','),
            "office" => sheet.office = optional(value),
            "link" => sheet.link = optional(value),
            "body" => sheet.body = value.to_string(),
            "handoff" => match value.trim().to_lowercase().as_str() {
                "" | "false" | "no" | "0" => sheet.handoff = false,
                "true" | "yes" | "si" | "sì" | "1" => sheet.handoff = true,
                other => problems.push(Problem::new(
                    path,
                    line,
                    format!("handoff: {other:?} is not true or false"),
                )),
            },
            "status" => match value.trim().to_lowercase().as_str() {
                "" | "published" => sheet.status = SheetStatus::Published,
                "draft" => sheet.status = SheetStatus::Draft,
                other => problems.push(Problem::new(
                    path,
                    line,
                    format!("status: {other:?} is not draft or published"),
                )),
            },
            _ => {}
        }
    }
    if sheet.summary.chars().count() > SUMMARY_MAX && sheet.body.trim().is_empty() {
        sheet.body = std::mem::take(&mut sheet.summary);
        sheet.summary = derive_summary(&sheet.body, SUMMARY_MAX);
        warnings.push(Problem::new(
            path,
            line,
            format!(
                "sheet {:?}: answer longer than {SUMMARY_MAX} characters kept as the body; summary derived from it",
                sheet.id
            ),
        ));
    }
    if problems.len() > before {
        return None;
    }
    let lines = ["id", "title", "summary", "short", "questions", "office"]
        .into_iter()
        .filter_map(|k| line.map(|l| (k.to_string(), l)))
        .collect();
    Some(Located {
        file: path.to_path_buf(),
        sheet,
        lines,
    })
}

/// Write sheets as CSV with a header row and every field ([`EXPORT_COLUMNS`]), so that
/// [`import_csv`] reads them back unchanged. Lists are joined with `" | "` (questions)
/// or `", "` (keywords, tags).
pub fn export_csv(sheets: &[Sheet], out: impl Write) -> Result<(), ::csv::Error> {
    let mut writer = ::csv::Writer::from_writer(out);
    writer.write_record(EXPORT_COLUMNS)?;
    for s in sheets {
        writer.write_record([
            s.id.as_str(),
            &s.title,
            &s.summary,
            s.short.as_deref().unwrap_or(""),
            &s.questions.join(" | "),
            &s.keywords.join(", "),
            &s.tags.join(", "),
            s.office.as_deref().unwrap_or(""),
            s.link.as_deref().unwrap_or(""),
            &s.body,
            if s.handoff { "true" } else { "false" },
            s.status.as_str(),
        ])?;
    }
    writer.flush()?;
    Ok(())
}

/// One sheet as the TOML text of its file; empty optional fields are left out.
pub fn sheet_to_toml(sheet: &Sheet) -> String {
    use toml::Value;
    let mut table = toml::Table::new();
    let mut put = |key: &str, value: Value| {
        table.insert(key.to_string(), value);
    };
    let list = |items: &[String]| Value::Array(items.iter().cloned().map(Value::String).collect());
    put("id", Value::String(sheet.id.clone()));
    put("title", Value::String(sheet.title.clone()));
    put("summary", Value::String(sheet.summary.clone()));
    if let Some(short) = &sheet.short {
        put("short", Value::String(short.clone()));
    }
    if !sheet.questions.is_empty() {
        put("questions", list(&sheet.questions));
    }
    if !sheet.keywords.is_empty() {
        put("keywords", list(&sheet.keywords));
    }
    if !sheet.tags.is_empty() {
        put("tags", list(&sheet.tags));
    }
    if let Some(office) = &sheet.office {
        put("office", Value::String(office.clone()));
    }
    if let Some(link) = &sheet.link {
        put("link", Value::String(link.clone()));
    }
    if !sheet.body.is_empty() {
        put("body", Value::String(sheet.body.clone()));
    }
    if sheet.handoff {
        put("handoff", Value::Boolean(true));
    }
    if sheet.status != SheetStatus::Published {
        put("status", Value::String(sheet.status.as_str().to_string()));
    }
    // Keys in the order of the format's documentation, not alphabetical.
    let mut out = String::new();
    for key in crate::load::SHEET_KEYS {
        if let Some(value) = table.get(*key) {
            let mut one = toml::Table::new();
            one.insert(key.to_string(), value.clone());
            out.push_str(&toml::to_string_pretty(&one).unwrap_or_default());
        }
    }
    out
}

/// Write each sheet to `<dir>/<id>.toml`, creating `dir` when missing.
pub fn write_toml_dir(sheets: &[Sheet], dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for sheet in sheets {
        std::fs::write(dir.join(format!("{}.toml", sheet.id)), sheet_to_toml(sheet))?;
    }
    Ok(())
}
