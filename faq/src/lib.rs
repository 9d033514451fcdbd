//! Procedure sheets and the matcher that answers citizens from them.
//!
//! # Layout
//!
//! - [`Sheet`], [`Office`], [`Synonyms`] (`sheet.rs`): the office's knowledge and the
//!   per-field rules ([`check_sheet`]).
//! - `load.rs`: [`load_sheets`] (a folder of TOML files or a CSV file), [`load_offices`],
//!   [`load_synonyms`], reporting every problem with file and line.
//! - `csv.rs`: CSV import and export, and TOML writing ([`export_csv`], [`sheet_to_toml`],
//!   [`write_toml_dir`]).
//! - [`analysis`], `typos.rs`, [`lexicon`]: Italian normalisation, stopwords, stems,
//!   synonyms (the office's and a built-in lexicon) and typo tolerance.
//! - `index/`: the inverted index and its scores (BM25F and best phrasing); `query.rs`
//!   turns a message into weighted index terms.
//! - `intent.rs`: small talk, requests for a person, abuse.
//! - [`calibration`]: the confidence, a logistic model over the ranking's features,
//!   fitted by cross-validation on the UnlockPA development set.
//! - [`Matcher`] (`matcher.rs`): built once from the published sheets; [`Matcher::decide`]
//!   turns one citizen message into a [`Decision`] (answer, clarify, small talk or handoff)
//!   with the candidate sheets and a calibrated confidence.
//! - [`semantic`]: the sentence encoder's texts of a sheet and their embeddings, which
//!   [`Matcher::with_semantic`] ranks with beside the lexical index.
//! - [`eval`]: labelled queries and the figures `sportello eval` prints.
//! - [`testing`]: small hand-written sheets for tests.
//!
//! This crate does no I/O beyond reading sheet files: the store and the channels live in
//! `sportello-core` and `sportello-bots`.

pub mod analysis;
pub mod calibration;
mod csv;
pub mod eval;
mod index;
mod intent;
pub mod lexicon;
mod load;
mod matcher;
pub mod semantic;
mod sheet;
pub mod testing;
mod typos;

pub use crate::csv::{
    EXPORT_COLUMNS, export_csv, import_csv, parse_csv, sheet_to_toml, write_toml_dir,
};
pub use calibration::Features;
/// The shipped BM25F field weights, for `examples/fields.rs`.
#[doc(hidden)]
pub use index::FIELD_WEIGHTS;
pub use load::{SHEET_KEYS, load_offices, load_sheets, load_synonyms, parse_sheet_files};
pub use matcher::{
    Candidate, Decision, DecisionKind, LEXICAL_SHARE, Matcher, MatcherParams, Reason,
};
pub use sheet::{
    BODY_MAX, FieldProblem, LINE_MAX, Loaded, NUL_PROBLEM, Office, Problem, Problems, SHORT_MAX,
    SUMMARY_MAX, Sheet, SheetStatus, Synonyms, TITLE_MAX, check_sheet, derive_summary,
    truncate_words,
};

#[cfg(test)]
mod send_sync {
    #[test]
    fn the_matcher_can_be_shared_across_tasks() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<super::Matcher>();
    }
}
