//! A readable diff between two versions of a sheet: the fields that changed, and for each
//! the lines taken away and the lines added.

use sportello_faq::{Sheet, SheetStatus};

/// One changed field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    /// The field's Italian label.
    pub label: &'static str,
    /// Lines only in the older version.
    pub removed: Vec<String>,
    /// Lines only in the newer version.
    pub added: Vec<String>,
}

/// The fields of a sheet as labelled lines.
fn fields(s: &Sheet) -> Vec<(&'static str, Vec<String>)> {
    let lines = |t: &str| t.lines().map(str::to_string).collect::<Vec<_>>();
    vec![
        ("Titolo", vec![s.title.clone()]),
        ("Risposta", lines(&s.summary)),
        ("Risposta breve (X)", s.short.iter().cloned().collect()),
        ("Domande", s.questions.clone()),
        ("Parole chiave", s.keywords.clone()),
        ("Etichette", s.tags.clone()),
        ("Ufficio", s.office.iter().cloned().collect()),
        ("Link", s.link.iter().cloned().collect()),
        ("Testo completo", lines(&s.body)),
        (
            "Sempre a un operatore",
            vec![if s.handoff { "sì" } else { "no" }.to_string()],
        ),
        (
            "Stato",
            vec![
                match s.status {
                    SheetStatus::Draft => "bozza",
                    SheetStatus::Published => "pubblicata",
                }
                .to_string(),
            ],
        ),
    ]
}

/// What changed from `old` to `new` (everything, when there is no older version).
pub fn diff(old: Option<&Sheet>, new: &Sheet) -> Vec<FieldChange> {
    let before = old.map(fields);
    fields(new)
        .into_iter()
        .enumerate()
        .filter_map(|(i, (label, now))| {
            let then = before.as_ref().map(|b| b[i].1.clone()).unwrap_or_default();
            let removed: Vec<String> = then.iter().filter(|l| !now.contains(l)).cloned().collect();
            let added: Vec<String> = now.iter().filter(|l| !then.contains(l)).cloned().collect();
            (!removed.is_empty() || !added.is_empty()).then_some(FieldChange {
                label,
                removed,
                added,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(summary: &str, questions: &[&str]) -> Sheet {
        Sheet {
            id: "s".into(),
            title: "Titolo".into(),
            summary: summary.into(),
            questions: questions.iter().map(|q| q.to_string()).collect(),
            ..Sheet::default()
        }
    }

    #[test]
    fn only_the_changed_fields_and_lines_are_listed() {
        let old = sheet("Apre alle 9.\nChiude alle 13.", &["quando apre"]);
        let new = sheet("Apre alle 9.\nChiude alle 18.", &["quando apre", "orari"]);
        let d = diff(Some(&old), &new);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].label, "Risposta");
        assert_eq!(d[0].removed, vec!["Chiude alle 13."]);
        assert_eq!(d[0].added, vec!["Chiude alle 18."]);
        assert_eq!(d[1].label, "Domande");
        assert_eq!(d[1].added, vec!["orari"]);
    }

    #[test]
    fn a_first_version_lists_what_it_has() {
        let d = diff(None, &sheet("Apre alle 9.", &[]));
        assert!(d.iter().any(|c| c.label == "Titolo"));
        assert!(d.iter().all(|c| c.removed.is_empty()));
    }
}
