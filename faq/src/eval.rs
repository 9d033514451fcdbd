//! Measuring the matcher on labelled queries, as `sportello eval` does.
//!
//! A query file holds lines `query<TAB>expected`: a sheet id, several ids joined by `,`
//! (any of them is right), or `-` when no sheet answers. Blank lines and lines starting
//! with `#` are skipped.
//!
//! Ranked metrics (P@1, MRR) use [`Decision::candidates`], which holds the ranking's top
//! ten for every decision except a clarification (see its documentation).

use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::matcher::{Decision, DecisionKind};

/// One labelled query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledQuery {
    /// The citizen's message.
    pub query: String,
    /// Sheet ids that answer it; empty when none does (`-`).
    pub expected: Vec<String>,
    /// Its 1-based line in the file.
    pub line: usize,
}

impl LabelledQuery {
    /// Its cross-validation fold among `folds`, grouped by expected sheet: every query of a
    /// sheet falls in one fold (a `-` query by its text), so that held-out figures measure
    /// sheets the model never saw. `seed` picks another assignment; `None` is the one the
    /// shipped calibration was measured with.
    pub fn fold(&self, folds: u64, seed: Option<u64>) -> u64 {
        let key = self.expected.first().unwrap_or(&self.query);
        let mut h = DefaultHasher::new();
        if let Some(seed) = seed {
            seed.hash(&mut h);
        }
        key.hash(&mut h);
        h.finish() % folds
    }
}

/// A malformed line of a query file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct QueryLineError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Every malformed line of a query file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} malformed line(s):\n{}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct QueryFileErrors(pub Vec<QueryLineError>);

/// Parse a query file; every malformed line is reported.
pub fn parse_queries(text: &str) -> Result<Vec<LabelledQuery>, QueryFileErrors> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let raw = raw.trim_end_matches('\r');
        if raw.trim().is_empty() || raw.starts_with('#') {
            continue;
        }
        let Some((query, expected)) = raw.rsplit_once('\t') else {
            errors.push(QueryLineError {
                line,
                message: "expected `query<TAB>expected`".into(),
            });
            continue;
        };
        let (query, expected) = (query.trim(), expected.trim());
        if query.is_empty() || expected.is_empty() {
            errors.push(QueryLineError {
                line,
                message: "empty query or expected value".into(),
            });
            continue;
        }
        let expected = if expected == "-" {
            Vec::new()
        } else {
            expected
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        out.push(LabelledQuery {
            query: query.to_string(),
            expected,
            line,
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(QueryFileErrors(errors))
    }
}

/// The matcher's decision on one labelled query, and how long it took.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// The message.
    pub query: String,
    /// Sheet ids that answer it; empty when none does.
    pub expected: Vec<String>,
    /// What the matcher decided.
    pub decision: Decision,
    /// Time taken by `decide`, in microseconds.
    pub micros: u64,
}

impl QueryResult {
    /// The first candidate's id, if any.
    pub fn top(&self) -> Option<&str> {
        self.decision
            .candidates
            .first()
            .map(|c| c.sheet_id.as_str())
    }

    /// Whether the message was answered at once (a sheet's answer sent).
    pub fn auto_answered(&self) -> bool {
        self.decision.kind == DecisionKind::Answer
    }

    /// Whether the first candidate is one of the expected sheets.
    pub fn top_is_right(&self) -> bool {
        self.top()
            .is_some_and(|t| self.expected.iter().any(|e| e == t))
    }

    /// The line `eval --output` writes:
    /// `{"query","decision","sheet","confidence","candidates":[ids],"micros"}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "query": self.query,
            "decision": self.decision.kind.as_str(),
            "sheet": self.top(),
            "confidence": self.decision.confidence,
            "candidates": self.decision.candidates.iter().map(|c| c.sheet_id.as_str()).collect::<Vec<_>>(),
            "micros": self.micros,
        })
    }
}

/// Figures over a set of results.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    /// Queries.
    pub n: usize,
    /// Queries that some sheet answers.
    pub answerable: usize,
    /// Share of answerable queries whose first candidate is right.
    pub p_at_1: f64,
    /// Mean reciprocal rank of the first right candidate, over answerable queries.
    pub mrr: f64,
    /// c@1 (Peñas & Rodrigo 2011): `(right + unanswered * right / n) / n`, where right
    /// means auto-answered with a right sheet and unanswered means not auto-answered.
    pub c_at_1: f64,
    /// Queries auto-answered.
    pub answered: usize,
    /// Share of auto-answers that were right (1 when there were none).
    pub answer_precision: f64,
    /// Wrong auto-answers (a wrong sheet, or any sheet for a `-` query) over all queries.
    pub wrong_answer_rate: f64,
    /// Share of `-` queries not auto-answered (1 when there are none).
    pub abstention: f64,
    /// Share of answerable queries auto-answered with a right sheet.
    pub correct_answer_share: f64,
    /// Share of answerable queries where a clarification offered a right sheet.
    pub clarify_hit_share: f64,
    /// Median decision latency, microseconds.
    pub latency_median_us: u64,
    /// 99th-percentile decision latency, microseconds.
    pub latency_p99_us: u64,
}

fn ratio(a: usize, b: usize, empty: f64) -> f64 {
    if b == 0 { empty } else { a as f64 / b as f64 }
}

impl Metrics {
    /// Compute the figures over `results`.
    pub fn compute(results: &[QueryResult]) -> Metrics {
        let n = results.len();
        let answerable: Vec<&QueryResult> =
            results.iter().filter(|r| !r.expected.is_empty()).collect();
        let unanswerable = n - answerable.len();
        let top_right = answerable.iter().filter(|r| r.top_is_right()).count();
        let rr: f64 = answerable
            .iter()
            .map(|r| {
                r.decision
                    .candidates
                    .iter()
                    .position(|c| r.expected.contains(&c.sheet_id))
                    .map_or(0.0, |p| 1.0 / (p + 1) as f64)
            })
            .sum();
        let answered = results.iter().filter(|r| r.auto_answered()).count();
        let right = results
            .iter()
            .filter(|r| r.auto_answered() && r.top_is_right())
            .count();
        let abstained_none = results
            .iter()
            .filter(|r| r.expected.is_empty() && !r.auto_answered())
            .count();
        let clarify_hits = answerable
            .iter()
            .filter(|r| {
                r.decision.kind == DecisionKind::Clarify
                    && r.decision
                        .candidates
                        .iter()
                        .any(|c| r.expected.contains(&c.sheet_id))
            })
            .count();
        let unanswered = n - answered;
        let mut micros: Vec<u64> = results.iter().map(|r| r.micros).collect();
        micros.sort_unstable();
        let pct = |p: f64| {
            if micros.is_empty() {
                0
            } else {
                micros[((micros.len() - 1) as f64 * p).round() as usize]
            }
        };
        Metrics {
            n,
            answerable: answerable.len(),
            p_at_1: ratio(top_right, answerable.len(), 0.0),
            mrr: if answerable.is_empty() {
                0.0
            } else {
                rr / answerable.len() as f64
            },
            c_at_1: if n == 0 {
                0.0
            } else {
                (right as f64 + unanswered as f64 * right as f64 / n as f64) / n as f64
            },
            answered,
            answer_precision: ratio(right, answered, 1.0),
            wrong_answer_rate: ratio(answered - right, n, 0.0),
            abstention: ratio(abstained_none, unanswerable, 1.0),
            correct_answer_share: ratio(right, answerable.len(), 0.0),
            clarify_hit_share: ratio(clarify_hits, answerable.len(), 0.0),
            latency_median_us: pct(0.5),
            latency_p99_us: pct(0.99),
        }
    }
}

impl fmt::Display for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: [(&str, String); 12] = [
            (
                "queries",
                format!("{} ({} answerable)", self.n, self.answerable),
            ),
            ("P@1", format!("{:.3}", self.p_at_1)),
            ("MRR", format!("{:.3}", self.mrr)),
            ("c@1", format!("{:.3}", self.c_at_1)),
            ("auto-answered", format!("{}", self.answered)),
            (
                "auto-answer precision",
                format!("{:.3}", self.answer_precision),
            ),
            (
                "wrong-answer rate",
                format!("{:.3}", self.wrong_answer_rate),
            ),
            ("abstention on `-`", format!("{:.3}", self.abstention)),
            (
                "answerable auto-answered right",
                format!("{:.3}", self.correct_answer_share),
            ),
            (
                "answerable with right choice offered",
                format!("{:.3}", self.clarify_hit_share),
            ),
            ("latency median", format!("{} µs", self.latency_median_us)),
            ("latency p99", format!("{} µs", self.latency_p99_us)),
        ];
        for (name, value) in rows {
            writeln!(f, "{name:<38} {value}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::{Candidate, Reason};

    fn result(expected: &[&str], kind: DecisionKind, ranked: &[&str], micros: u64) -> QueryResult {
        QueryResult {
            query: "q".into(),
            expected: expected.iter().map(|s| s.to_string()).collect(),
            decision: Decision {
                kind,
                reason: Reason::Matched,
                confidence: 0.9,
                candidates: ranked
                    .iter()
                    .map(|id| Candidate {
                        sheet_id: id.to_string(),
                        confidence: 0.5,
                    })
                    .collect(),
            },
            micros,
        }
    }

    #[test]
    fn query_files_skip_comments_and_blank_lines_and_split_ids() {
        let text = "# header\n\ncome rinnovo la CIE\tcie\nboh\t-\norari\turp-orari, urp-sede\n";
        let queries = parse_queries(text).unwrap();
        assert_eq!(queries.len(), 3);
        assert_eq!(queries[0].expected, ["cie"]);
        assert!(queries[1].expected.is_empty());
        assert_eq!(queries[2].expected, ["urp-orari", "urp-sede"]);
        assert_eq!(queries[2].line, 5);
    }

    #[test]
    fn malformed_query_lines_are_all_reported_with_their_numbers() {
        let errors = parse_queries("ok\tcie\nno tab here\n\t-\nfine\tx\n").unwrap_err();
        let lines: Vec<_> = errors.0.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3]);
    }

    #[test]
    fn a_result_serialises_to_the_documented_json_keys() {
        let json = result(&["a"], DecisionKind::Answer, &["a", "b"], 12).to_json();
        let mut keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "candidates",
                "confidence",
                "decision",
                "micros",
                "query",
                "sheet"
            ]
        );
        assert_eq!(json["decision"], "answer");
        assert_eq!(json["sheet"], "a");
        assert_eq!(json["candidates"], serde_json::json!(["a", "b"]));
        let none = result(&[], DecisionKind::Handoff, &[], 1).to_json();
        assert!(none["sheet"].is_null());
    }

    #[test]
    fn metrics_count_right_wrong_and_abstained_answers() {
        let results = [
            result(&["a"], DecisionKind::Answer, &["a", "b"], 10),
            result(&["b"], DecisionKind::Answer, &["a", "b"], 20),
            result(&["c"], DecisionKind::Clarify, &["d", "c"], 30),
            result(&[], DecisionKind::Answer, &["a"], 40),
            result(&[], DecisionKind::Handoff, &["a"], 50),
        ];
        let m = Metrics::compute(&results);
        assert_eq!((m.n, m.answerable, m.answered), (5, 3, 3));
        assert!((m.p_at_1 - 1.0 / 3.0).abs() < 1e-9);
        assert!((m.mrr - (1.0 + 0.5 + 0.5) / 3.0).abs() < 1e-9);
        assert!((m.answer_precision - 1.0 / 3.0).abs() < 1e-9);
        assert!((m.wrong_answer_rate - 2.0 / 5.0).abs() < 1e-9);
        assert!((m.abstention - 0.5).abs() < 1e-9);
        assert!((m.correct_answer_share - 1.0 / 3.0).abs() < 1e-9);
        assert!((m.c_at_1 - (1.0 + 2.0 * 1.0 / 5.0) / 5.0).abs() < 1e-9);
        assert_eq!(m.latency_median_us, 30);
        assert!(m.to_string().contains("P@1"));
    }

    #[test]
    fn metrics_of_nothing_are_zero_not_nan() {
        let m = Metrics::compute(&[]);
        assert_eq!(m.n, 0);
        assert!(m.p_at_1 == 0.0 && m.c_at_1 == 0.0 && m.wrong_answer_rate == 0.0);
    }
}
