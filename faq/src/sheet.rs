//! Procedure sheets, offices and synonyms: their format and loading.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Whether the matcher may use a sheet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SheetStatus {
    /// Being written; invisible to the matcher.
    Draft,
    /// Used by the matcher.
    #[default]
    Published,
}

/// One procedure sheet (scheda procedimento).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sheet {
    /// Stable identifier, e.g. `accesso-atti`.
    pub id: String,
    /// Title shown to citizens and operators.
    pub title: String,
    /// The chat answer: plain text, at most 1,000 characters.
    pub summary: String,
    /// A short answer for X (at most 200 characters); derived from `summary` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short: Option<String>,
    /// Alternative phrasings of the question this sheet answers.
    #[serde(default)]
    pub questions: Vec<String>,
    /// Keywords that point to this sheet.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Free tags for filtering.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The responsible office: an id from `offices.toml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office: Option<String>,
    /// The online page or service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Full Markdown text: who may apply, documents, costs, deadlines, legal references.
    #[serde(default)]
    pub body: String,
    /// Always give the conversation to an operator, even when this sheet matches.
    #[serde(default)]
    pub handoff: bool,
    /// Draft or published.
    #[serde(default)]
    pub status: SheetStatus,
}

impl Sheet {
    /// The short answer, derived from the summary when the sheet has none.
    pub fn short_text(&self) -> String {
        match &self.short {
            Some(s) if !s.trim().is_empty() => s.clone(),
            _ => truncate_words(&self.summary, 200),
        }
    }
}

/// Cut `text` at a word boundary so that it has at most `max` characters, ending in `…`.
pub fn truncate_words(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out = String::new();
    for word in text.split_whitespace() {
        let extra = if out.is_empty() { 0 } else { 1 };
        if out.chars().count() + extra + word.chars().count() + 1 > max {
            break;
        }
        if extra == 1 {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.is_empty() {
        out = text.chars().take(max.saturating_sub(1)).collect();
    }
    out.push('…');
    out
}

/// An office that sheets and transfers refer to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Office {
    /// Stable identifier, e.g. `urp`.
    pub id: String,
    /// Name shown to citizens.
    pub name: String,
    /// Where transfers are emailed.
    #[serde(default)]
    pub email: String,
    /// Phone number.
    #[serde(default)]
    pub phone: String,
    /// Street address.
    #[serde(default)]
    pub address: String,
    /// Opening hours, as text.
    #[serde(default)]
    pub hours: String,
}

/// Groups of equivalent terms and abbreviations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Synonyms {
    /// Each group lists terms (words or phrases) that mean the same thing.
    #[serde(default)]
    pub groups: Vec<Vec<String>>,
}

/// One problem found while loading, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file (or CSV) the problem is in.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong, in English.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file.display(), line, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Every problem found, not just the first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} problem(s) in the sheets:\n{}", .0.len(), .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct Problems(pub Vec<Problem>);

/// Sheets loaded from a folder or CSV, with warnings that did not stop loading.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The sheets, sorted by id.
    pub sheets: Vec<Sheet>,
    /// Non-fatal remarks (e.g. a long CSV answer turned into a body).
    pub warnings: Vec<Problem>,
}

fn read_text(path: &Path) -> Result<String, Problem> {
    let bytes = std::fs::read(path).map_err(|e| Problem {
        file: path.to_path_buf(),
        line: None,
        message: format!("cannot read: {e}"),
    })?;
    String::from_utf8(bytes).map_err(|e| Problem {
        file: path.to_path_buf(),
        line: None,
        message: format!("not valid UTF-8 (at byte {})", e.utf8_error().valid_up_to()),
    })
}

fn toml_problem(path: &Path, text: &str, err: &toml::de::Error) -> Problem {
    let line = err
        .span()
        .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
    Problem {
        file: path.to_path_buf(),
        line,
        message: err.message().to_string(),
    }
}

/// Load sheets from a folder of TOML files (one sheet per file).
///
/// `offices` are the known office ids; a sheet naming another office is a problem.
pub fn load_sheets(path: &Path, offices: &[Office]) -> Result<Loaded, Problems> {
    let mut problems = Vec::new();
    let mut sheets: Vec<(PathBuf, Sheet)> = Vec::new();
    let entries = std::fs::read_dir(path).map_err(|e| {
        Problems(vec![Problem {
            file: path.to_path_buf(),
            line: None,
            message: format!("cannot read folder: {e}"),
        }])
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    for file in files {
        let text = match read_text(&file) {
            Ok(t) => t,
            Err(p) => {
                problems.push(p);
                continue;
            }
        };
        match toml::from_str::<Sheet>(&text) {
            Ok(sheet) => sheets.push((file, sheet)),
            Err(e) => problems.push(toml_problem(&file, &text, &e)),
        }
    }
    let mut seen = std::collections::HashMap::new();
    for (file, sheet) in &sheets {
        if let Some(first) = seen.insert(sheet.id.clone(), file.clone()) {
            problems.push(Problem {
                file: file.clone(),
                line: None,
                message: format!("duplicate id {:?} (also in {})", sheet.id, first.display()),
            });
        }
        if let Some(office) = &sheet.office
            && !offices.iter().any(|o| &o.id == office)
        {
            problems.push(Problem {
                file: file.clone(),
                line: None,
                message: format!("unknown office {office:?}"),
            });
        }
    }
    if !problems.is_empty() {
        return Err(Problems(problems));
    }
    let mut sheets: Vec<Sheet> = sheets.into_iter().map(|(_, s)| s).collect();
    sheets.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Loaded {
        sheets,
        warnings: Vec::new(),
    })
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
    toml::from_str::<OfficesFile>(&text)
        .map(|f| f.office)
        .map_err(|e| Problems(vec![toml_problem(path, &text, &e)]))
}

/// Load `synonyms.toml`: `groups = [["carta rosa", "pink card"], …]`.
pub fn load_synonyms(path: &Path) -> Result<Synonyms, Problems> {
    let text = read_text(path).map_err(|p| Problems(vec![p]))?;
    toml::from_str::<Synonyms>(&text).map_err(|e| Problems(vec![toml_problem(path, &text, &e)]))
}
