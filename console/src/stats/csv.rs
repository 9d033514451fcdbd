//! `/stats.csv`: the period table, then one row per channel and one for the whole period,
//! with the same columns, so that a spreadsheet can sum or chart them. Cells are quoted, and
//! a text cell that a spreadsheet would read as a formula is prefixed with `'`.

use std::fmt::Write;

use sportello_core::stats::{Counts, Report};

/// The CSV header.
pub const HEADER: &[&str] = &[
    "periodo",
    "canale",
    "messaggi",
    "conversazioni",
    "risposte_automatiche",
    "richieste_di_scelta",
    "convenevoli",
    "passate_agli_operatori",
    "con_operatore",
    "tasso_risposta_automatica",
    "tasso_scelta",
    "tasso_passaggio",
    "consegne_fallite",
];

/// One cell, quoted when it needs to be and defused when it looks like a formula.
pub fn cell(v: &str) -> String {
    let v = match v.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{v}"),
        _ => v.to_string(),
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

fn rate(r: Option<f64>) -> String {
    r.map(|r| format!("{r:.4}")).unwrap_or_default()
}

fn row(out: &mut String, period: &str, channel: &str, c: &Counts) {
    let _ = writeln!(
        out,
        "{},{},{},{},{},{},{},{},{},{},{},{},{}",
        cell(period),
        cell(channel),
        c.messages,
        c.conversations,
        c.answer,
        c.clarify,
        c.smalltalk,
        c.handoff,
        c.with_operator,
        rate(c.auto_answer_rate),
        rate(c.clarify_rate),
        rate(c.handoff_rate),
        c.delivery_failures
    );
}

/// The report as CSV.
pub fn write(r: &Report) -> String {
    let mut out = HEADER.join(",");
    out.push('\n');
    let all = r.channel.as_deref().unwrap_or("tutti");
    for p in &r.periods {
        row(&mut out, &p.start, all, &p.counts);
    }
    let whole = format!("{}..{}", r.from, r.to);
    for c in &r.channels {
        row(&mut out, &whole, &c.channel, &c.counts);
    }
    row(&mut out, &whole, all, &r.totals);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_look_like_formulas_are_defused() {
        assert_eq!(cell("=cmd()"), "'=cmd()");
        assert_eq!(cell("-1+1"), "'-1+1");
        assert_eq!(cell("telegram"), "telegram");
    }

    #[test]
    fn cells_with_commas_or_quotes_are_quoted() {
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
