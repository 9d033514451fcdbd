//! The sheet form: every field of a sheet as the editor typed it, turned into a [`Sheet`]
//! and checked field by field, with the problems in Italian beside each field.

use std::collections::BTreeMap;

use serde::Deserialize;
use sportello_faq::{Office, Sheet, SheetStatus};

/// The form's fields, as posted.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct SheetForm {
    /// Identifier (only for a new sheet; fixed afterwards).
    #[serde(default)]
    pub id: String,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// The chat answer.
    #[serde(default)]
    pub summary: String,
    /// The short answer for X.
    #[serde(default)]
    pub short: String,
    /// Phrasings, one per line.
    #[serde(default)]
    pub questions: String,
    /// Keywords, separated by commas.
    #[serde(default)]
    pub keywords: String,
    /// Tags, separated by commas.
    #[serde(default)]
    pub tags: String,
    /// Office id, or empty.
    #[serde(default)]
    pub office: String,
    /// Link, or empty.
    #[serde(default)]
    pub link: String,
    /// Full text.
    #[serde(default)]
    pub body: String,
    /// `on` when the sheet always goes to an operator.
    #[serde(default)]
    pub handoff: Option<String>,
    /// `draft`, `publish`, `discard` or `try`.
    #[serde(default)]
    pub action: String,
    /// The question to try.
    #[serde(default)]
    pub try_text: String,
}

fn list(s: &str, sep: char) -> Vec<String> {
    s.split(sep)
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

fn some(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

impl SheetForm {
    /// The form filled with a sheet.
    pub fn of(sheet: &Sheet) -> Self {
        Self {
            id: sheet.id.clone(),
            title: sheet.title.clone(),
            summary: sheet.summary.clone(),
            short: sheet.short.clone().unwrap_or_default(),
            questions: sheet.questions.join("\n"),
            keywords: sheet.keywords.join(", "),
            tags: sheet.tags.join(", "),
            office: sheet.office.clone().unwrap_or_default(),
            link: sheet.link.clone().unwrap_or_default(),
            body: sheet.body.clone(),
            handoff: sheet.handoff.then(|| "on".into()),
            action: String::new(),
            try_text: String::new(),
        }
    }

    /// The sheet these fields describe, with `status`.
    pub fn sheet(&self, status: SheetStatus) -> Sheet {
        Sheet {
            id: self.id.trim().to_string(),
            title: self.title.trim().to_string(),
            summary: self.summary.trim().to_string(),
            short: some(&self.short),
            questions: list(&self.questions.replace('\r', ""), '\n'),
            keywords: list(&self.keywords, ','),
            tags: list(&self.tags, ','),
            office: some(&self.office),
            link: some(&self.link),
            body: self.body.replace('\r', "").trim().to_string(),
            handoff: self.handoff.is_some(),
            status,
        }
    }
}

/// Problems with a sheet, field by field, in Italian.
pub fn check(sheet: &Sheet, offices: &[Office]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for p in sportello_faq::check_sheet(sheet) {
        let m = &p.message;
        let italian = if m.contains("empty phrasing") {
            "una riga delle domande è vuota".to_string()
        } else if m.contains("must not be empty") {
            "campo obbligatorio".to_string()
        } else if m.contains("characters long") {
            // "is LEN characters long, more than LIMIT"
            let numbers: Vec<&str> = m
                .split(|c: char| !c.is_ascii_digit())
                .filter(|n| !n.is_empty())
                .collect();
            match numbers.as_slice() {
                [len, limit]
                    if p.field == "questions" || p.field == "keywords" || p.field == "tags" =>
                {
                    format!("una riga ha {len} caratteri: al massimo {limit}")
                }
                [len, limit] => format!("{len} caratteri: al massimo {limit}"),
                _ => m.clone(),
            }
        } else if m == sportello_faq::NUL_PROBLEM {
            "contiene un carattere non ammesso (NUL, U+0000)".to_string()
        } else if p.field == "id" {
            "solo lettere, cifre, '-', '_' e '.'".to_string()
        } else {
            m.clone()
        };
        out.entry(p.field.to_string()).or_insert(italian);
    }
    if let Some(office) = &sheet.office
        && !offices.iter().any(|o| &o.id == office)
    {
        out.insert("office".into(), "ufficio sconosciuto".into());
    }
    if let Some(link) = &sheet.link
        && !(link.starts_with("https://") || link.starts_with("http://"))
    {
        out.insert("link".into(), "deve iniziare con https://".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_read_one_per_line_or_comma_separated() {
        let form = SheetForm {
            id: " orari ".into(),
            questions: "quando apre\r\n\r\ndove si trova\n".into(),
            tags: "biblioteca, , cultura".into(),
            ..SheetForm::default()
        };
        let s = form.sheet(SheetStatus::Draft);
        assert_eq!(s.id, "orari");
        assert_eq!(s.questions, vec!["quando apre", "dove si trova"]);
        assert_eq!(s.tags, vec!["biblioteca", "cultura"]);
        assert_eq!(SheetForm::of(&s).questions, "quando apre\ndove si trova");
    }

    #[test]
    fn problems_are_named_by_field_in_italian() {
        let form = SheetForm {
            id: "a b".into(),
            summary: "x".repeat(1001),
            link: "example.org".into(),
            office: "nessuno".into(),
            ..SheetForm::default()
        };
        let p = check(&form.sheet(SheetStatus::Draft), &[]);
        assert_eq!(p["title"], "campo obbligatorio");
        assert_eq!(p["summary"], "1001 caratteri: al massimo 1000");
        assert!(p["id"].starts_with("solo lettere"));
        assert_eq!(p["office"], "ufficio sconosciuto");
        assert!(p.contains_key("link"));
    }
}
