//! Loading sheets, offices and synonyms from files, reporting every problem with its line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::sheet::{Loaded, Office, Problem, Problems, Sheet, Synonyms, check_sheet};

/// The keys a sheet file may hold: exactly the columns a CSV export writes.
pub const SHEET_KEYS: &[&str] = &crate::csv::EXPORT_COLUMNS;
const REQUIRED_KEYS: &[&str] = &["id", "title", "summary"];

/// Read a file as UTF-8, naming the file when it is not.
pub(crate) fn read_text(path: &Path) -> Result<String, Problem> {
    let bytes =
        std::fs::read(path).map_err(|e| Problem::new(path, None, format!("cannot read: {e}")))?;
    text_of(path, bytes)
}

/// Bytes as UTF-8 text without a byte-order mark, naming `path` when they are not.
pub(crate) fn text_of(path: &Path, bytes: Vec<u8>) -> Result<String, Problem> {
    let mut text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        Problem::new(path, Some(line), format!("not valid UTF-8 (at byte {at})"))
    })?;
    if text.starts_with('\u{feff}') {
        text.remove(0);
    }
    Ok(text)
}

/// The 1-based line of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn toml_problem(path: &Path, text: &str, err: &toml::de::Error) -> Problem {
    let line = err.span().map(|span| line_of(text, span.start));
    Problem::new(path, line, err.message().trim().to_string())
}

/// A sheet read from one file, with where its keys are.
pub(crate) struct Located {
    pub file: PathBuf,
    pub sheet: Sheet,
    /// Line of each key, by name.
    pub lines: HashMap<String, usize>,
}

impl Located {
    pub(crate) fn line(&self, key: &str) -> Option<usize> {
        self.lines.get(key).copied()
    }
}

/// Parse one sheet file's text, or record why it could not be read; every problem goes
/// into `problems`.
fn parse_sheet(
    file: &Path,
    text: Result<String, Problem>,
    problems: &mut Vec<Problem>,
) -> Option<Located> {
    match text {
        Ok(text) => parse_sheet_text(file, &text, problems),
        Err(p) => {
            problems.push(p);
            None
        }
    }
}

/// Parse one sheet's TOML text, read from `file`, pushing every problem into `problems`.
fn parse_sheet_text(file: &Path, text: &str, problems: &mut Vec<Problem>) -> Option<Located> {
    let (table, errors) = toml::de::DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        problems.extend(errors.iter().map(|e| toml_problem(file, text, e)));
        return None;
    }
    let mut lines = HashMap::new();
    let before = problems.len();
    for (key, _) in table.get_ref().iter() {
        let name: &str = key.get_ref();
        let line = line_of(text, key.span().start);
        if SHEET_KEYS.contains(&name) {
            lines.insert(name.to_string(), line);
        } else {
            problems.push(Problem::new(
                file,
                Some(line),
                format!("unknown key `{name}`"),
            ));
        }
    }
    for key in REQUIRED_KEYS {
        if !lines.contains_key(*key) {
            problems.push(Problem::new(file, None, format!("missing field `{key}`")));
        }
    }
    if problems.len() > before {
        return None;
    }
    match toml::from_str::<Sheet>(text) {
        Ok(sheet) => Some(Located {
            file: file.to_path_buf(),
            sheet,
            lines,
        }),
        Err(e) => {
            problems.push(toml_problem(file, text, &e));
            None
        }
    }
}

/// Checks that need all sheets: per-field rules, duplicate ids, unknown offices.
pub(crate) fn check_all(sheets: &[Located], offices: &[Office], problems: &mut Vec<Problem>) {
    let mut seen: HashMap<&str, &Located> = HashMap::new();
    for located in sheets {
        let sheet = &located.sheet;
        for p in check_sheet(sheet) {
            let line = located.line(p.field);
            problems.push(Problem::new(&located.file, line, p.to_string()));
        }
        if let Some(first) = seen.insert(sheet.id.as_str(), located) {
            let at = match first.line("id") {
                Some(l) if first.file == located.file => format!("line {l}"),
                Some(l) => format!("{}:{l}", first.file.display()),
                None => first.file.display().to_string(),
            };
            problems.push(Problem::new(
                &located.file,
                located.line("id"),
                format!("duplicate id {:?} (first at {at})", sheet.id),
            ));
        }
        if let Some(office) = &sheet.office
            && !offices.iter().any(|o| &o.id == office)
        {
            problems.push(Problem::new(
                &located.file,
                located.line("office"),
                format!("unknown office {office:?}"),
            ));
        }
    }
}

/// The sheets of a folder or an archive, after the checks that need all of them, sorted by
/// id; every problem found, if any.
fn checked(
    sheets: Vec<Located>,
    offices: &[Office],
    mut problems: Vec<Problem>,
) -> Result<Loaded, Problems> {
    check_all(&sheets, offices, &mut problems);
    if !problems.is_empty() {
        return Err(Problems(problems));
    }
    let mut sheets: Vec<Sheet> = sheets.into_iter().map(|l| l.sheet).collect();
    sheets.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Loaded {
        sheets,
        warnings: Vec::new(),
    })
}

/// Load sheets from a folder of TOML files (one sheet per `*.toml` file) or from a CSV
/// file (see [`crate::import_csv`]), checking every sheet.
///
/// `offices` are the known offices; a sheet naming another office is a problem. Every
/// problem is reported, each with its file and, when known, its line.
pub fn load_sheets(path: &Path, offices: &[Office]) -> Result<Loaded, Problems> {
    let is_csv = path
        .extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("csv"));
    if is_csv || path.is_file() {
        return crate::csv::import_csv(path, offices);
    }
    let entries = std::fs::read_dir(path).map_err(|e| {
        Problems(vec![Problem::new(
            path,
            None,
            format!("cannot read folder: {e}"),
        )])
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut problems = Vec::new();
    let sheets: Vec<Located> = files
        .iter()
        .filter_map(|f| parse_sheet(f, read_text(f), &mut problems))
        .collect();
    checked(sheets, offices, problems)
}

/// Sheets from TOML files held in memory, `(name, contents)` (the files of an archive
/// uploaded in the console), checked as [`load_sheets`] checks a folder: every problem is
/// reported with the file's name and, when known, its line.
pub fn parse_sheet_files(
    files: Vec<(String, Vec<u8>)>,
    offices: &[Office],
) -> Result<Loaded, Problems> {
    let mut problems = Vec::new();
    let sheets: Vec<Located> = files
        .into_iter()
        .filter_map(|(name, bytes)| {
            let file = Path::new(&name);
            parse_sheet(file, text_of(file, bytes), &mut problems)
        })
        .collect();
    checked(sheets, offices, problems)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OfficesFile {
    #[serde(default)]
    office: Vec<Office>,
}

/// Load `offices.toml`: an array of `[[office]]` tables.
pub fn load_offices(path: &Path) -> Result<Vec<Office>, Problems> {
    let text = read_text(path).map_err(|p| Problems(vec![p]))?;
    let offices = toml::from_str::<OfficesFile>(&text)
        .map(|f| f.office)
        .map_err(|e| Problems(vec![toml_problem(path, &text, &e)]))?;
    let mut seen = std::collections::HashSet::new();
    let problems: Vec<Problem> = offices
        .iter()
        .filter(|o| !seen.insert(o.id.as_str()))
        .map(|o| Problem::new(path, None, format!("duplicate office id {:?}", o.id)))
        .collect();
    if problems.is_empty() {
        Ok(offices)
    } else {
        Err(Problems(problems))
    }
}

/// Load `synonyms.toml`: `groups = [["carta rosa", "pink card"], …]`.
pub fn load_synonyms(path: &Path) -> Result<Synonyms, Problems> {
    let text = read_text(path).map_err(|p| Problems(vec![p]))?;
    toml::from_str::<Synonyms>(&text).map_err(|e| Problems(vec![toml_problem(path, &text, &e)]))
}
