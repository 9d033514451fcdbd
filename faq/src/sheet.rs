//! Procedure sheets, offices and synonyms: the data and its per-field rules.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Longest `summary` a sheet may have, in characters.
pub const SUMMARY_MAX: usize = 1000;
/// Longest `short` a sheet may have, in characters.
pub const SHORT_MAX: usize = 200;
/// Longest `title` a sheet may have, in characters.
pub const TITLE_MAX: usize = 200;
/// Longest `body` a sheet may have, in characters.
pub const BODY_MAX: usize = 20_000;
/// Longest phrasing, keyword, tag or link, in characters.
pub const LINE_MAX: usize = 500;

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

impl SheetStatus {
    /// The lowercase name used in files: `draft` or `published`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
        }
    }
}

/// One procedure sheet (scheda procedimento). `Default` is an empty published sheet, for
/// building one field by field; files must still name `id`, `title` and `summary`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
            _ => truncate_words(&self.summary, SHORT_MAX),
        }
    }

    /// Add an operator-approved phrasing to `questions`, unless the title or an existing
    /// phrasing is the same once normalised (case, accents, punctuation, spacing).
    /// Returns whether it was added.
    pub fn add_phrasing(&mut self, text: &str) -> bool {
        let key = crate::analysis::fingerprint(text);
        if key.is_empty() {
            return false;
        }
        let known = std::iter::once(&self.title).chain(&self.questions);
        if known
            .into_iter()
            .any(|q| crate::analysis::fingerprint(q) == key)
        {
            return false;
        }
        self.questions.push(text.trim().to_string());
        true
    }
}

/// One problem with one field of a sheet, as [`check_sheet`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The field's name, as in the TOML file (`summary`, `short`, …).
    pub field: &'static str,
    /// What is wrong, in English.
    pub message: String,
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Check one sheet's fields on their own (lengths, empty required texts, id syntax).
///
/// Cross-sheet rules (duplicate ids, unknown offices) are checked by the loaders.
pub fn check_sheet(sheet: &Sheet) -> Vec<FieldProblem> {
    let mut out = Vec::new();
    let mut push = |field, message: String| out.push(FieldProblem { field, message });
    if sheet.id.trim().is_empty() {
        push("id", "must not be empty".into());
    } else if !sheet
        .id
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        push(
            "id",
            format!(
                "{:?} may hold only letters, digits, '-', '_' and '.'",
                sheet.id
            ),
        );
    }
    if sheet.title.trim().is_empty() {
        push("title", "must not be empty".into());
    }
    if sheet.summary.trim().is_empty() {
        push("summary", "must not be empty".into());
    }
    let len = sheet.summary.chars().count();
    if len > SUMMARY_MAX {
        push(
            "summary",
            format!("is {len} characters long, more than {SUMMARY_MAX}"),
        );
    }
    if let Some(short) = &sheet.short {
        let len = short.chars().count();
        if len > SHORT_MAX {
            push(
                "short",
                format!("is {len} characters long, more than {SHORT_MAX}"),
            );
        }
    }
    if sheet.questions.iter().any(|q| q.trim().is_empty()) {
        push("questions", "holds an empty phrasing".into());
    }
    let mut too_long = |field, text: &str, max: usize| {
        let len = text.chars().count();
        if len > max {
            push(field, format!("is {len} characters long, more than {max}"));
        }
    };
    too_long("title", &sheet.title, TITLE_MAX);
    too_long("body", &sheet.body, BODY_MAX);
    for (field, lines) in [
        ("questions", &sheet.questions),
        ("keywords", &sheet.keywords),
        ("tags", &sheet.tags),
    ] {
        if let Some(l) = lines.iter().find(|l| l.chars().count() > LINE_MAX) {
            too_long(field, l, LINE_MAX);
        }
    }
    if let Some(link) = &sheet.link {
        too_long("link", link, LINE_MAX);
    }
    // PostgreSQL text cannot hold U+0000: refused on both backends alike.
    let texts = [
        ("id", Some(&sheet.id)),
        ("title", Some(&sheet.title)),
        ("summary", Some(&sheet.summary)),
        ("short", sheet.short.as_ref()),
        ("office", sheet.office.as_ref()),
        ("link", sheet.link.as_ref()),
        ("body", Some(&sheet.body)),
    ];
    let lists = [
        ("questions", &sheet.questions),
        ("keywords", &sheet.keywords),
        ("tags", &sheet.tags),
    ];
    for (field, text) in texts {
        if text.is_some_and(|t| t.contains('\0')) {
            push(field, NUL_PROBLEM.into());
        }
    }
    for (field, lines) in lists {
        if lines.iter().any(|l| l.contains('\0')) {
            push(field, NUL_PROBLEM.into());
        }
    }
    out
}

/// The problem of a field that holds U+0000.
pub const NUL_PROBLEM: &str = "contains a NUL character (U+0000)";

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

/// A summary of at most `max` characters derived from a long text: whole sentences when
/// the first ones fit, otherwise cut at a word boundary.
pub fn derive_summary(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut end = 0;
    let mut count = 0;
    for (i, c) in text.char_indices() {
        count += 1;
        if count > max {
            break;
        }
        let next = text[i + c.len_utf8()..].chars().next();
        if matches!(c, '.' | '!' | '?' | '\n') && next.is_none_or(char::is_whitespace) {
            end = i + c.len_utf8();
        }
    }
    // A sentence cut shorter than a third of the room loses too much: cut words instead.
    if end * 3 >= max {
        text[..end].trim().to_string()
    } else {
        truncate_words(text, max)
    }
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

impl Problem {
    /// A problem at `line` (when known) of `file`.
    pub fn new(file: impl Into<PathBuf>, line: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line,
            message: message.into(),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet() -> Sheet {
        Sheet {
            id: "carta-rosa".into(),
            title: "Carta Rosa".into(),
            summary: "La Carta Rosa dà sconti alle donne residenti.".into(),
            questions: vec!["Come ottengo la carta rosa?".into()],
            ..Sheet::default()
        }
    }

    #[test]
    fn a_new_phrasing_is_added_once() {
        let mut s = sheet();
        assert!(s.add_phrasing("  posso rinnovare la carta rosa? "));
        assert_eq!(
            s.questions.last().unwrap(),
            "posso rinnovare la carta rosa?"
        );
        assert!(!s.add_phrasing("Posso rinnovare la Carta Rosa"));
        assert_eq!(s.questions.len(), 2);
    }

    #[test]
    fn a_phrasing_equal_to_the_title_or_empty_is_not_added() {
        let mut s = sheet();
        assert!(!s.add_phrasing("carta rosa!"));
        assert!(!s.add_phrasing("come ottengo la càrta rosa"));
        assert!(!s.add_phrasing(" ?! "));
        assert_eq!(s.questions.len(), 1);
    }

    #[test]
    fn the_short_text_is_derived_from_the_summary_when_absent() {
        let mut s = sheet();
        s.summary = "parola ".repeat(100);
        let short = s.short_text();
        assert!(short.chars().count() <= SHORT_MAX && short.ends_with('…'));
        s.short = Some("Breve.".into());
        assert_eq!(s.short_text(), "Breve.");
    }

    #[test]
    fn a_derived_summary_ends_at_a_sentence_within_the_limit() {
        let text = "Prima frase. ".repeat(100);
        let summary = derive_summary(&text, SUMMARY_MAX);
        assert!(summary.chars().count() <= SUMMARY_MAX);
        assert!(summary.ends_with("frase."));
        let words = "parola ".repeat(300);
        assert!(derive_summary(&words, 50).chars().count() <= 50);
    }

    #[test]
    fn field_checks_name_the_field() {
        let mut s = sheet();
        assert!(check_sheet(&s).is_empty());
        s.id = "carta rosa/2".into();
        s.summary = "x".repeat(SUMMARY_MAX + 1);
        s.short = Some("y".repeat(SHORT_MAX + 1));
        s.title = " ".into();
        let fields: Vec<_> = check_sheet(&s).iter().map(|p| p.field).collect();
        assert_eq!(fields, ["id", "title", "summary", "short"]);
    }

    #[test]
    fn long_fields_and_nul_characters_are_refused_by_field() {
        let mut s = sheet();
        s.title = "t".repeat(TITLE_MAX);
        s.body = "b".repeat(BODY_MAX);
        s.questions = vec!["q".repeat(LINE_MAX)];
        assert!(check_sheet(&s).is_empty(), "{:?}", check_sheet(&s));
        s.title.push('t');
        s.body.push('b');
        s.questions.push("q".repeat(LINE_MAX + 1));
        s.link = Some("l".repeat(LINE_MAX + 1));
        let fields: Vec<_> = check_sheet(&s).iter().map(|p| p.field).collect();
        assert_eq!(fields, ["title", "body", "questions", "link"]);
        let mut s = sheet();
        s.title = "a\0b".into();
        s.keywords = vec!["k\0".into()];
        let problems = check_sheet(&s);
        let fields: Vec<_> = problems.iter().map(|p| p.field).collect();
        assert_eq!(fields, ["title", "keywords"]);
        assert!(problems.iter().all(|p| p.message == NUL_PROBLEM));
    }
}
