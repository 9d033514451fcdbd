//! Procedure sheets and the matcher that answers citizens from them.
//!
//! # Layout
//!
//! - [`Sheet`], [`Office`], [`Synonyms`]: the office's knowledge, loaded from
//!   `config/sheets/*.toml`, `config/offices.toml` and `config/synonyms.toml`
//!   ([`load_sheets`], [`load_offices`], [`load_synonyms`]).
//! - [`Matcher`]: built once from the published sheets; [`Matcher::decide`] turns one
//!   citizen message into a [`Decision`] (answer, clarify, small talk or handoff) with the
//!   candidate sheets and a calibrated confidence.
//!
//! This crate does no I/O beyond reading sheet files: the store and the channels live in
//! `sportello-core` and `sportello-bots`.

mod matcher;
mod sheet;

pub use matcher::{Candidate, Decision, DecisionKind, Matcher, MatcherParams, Reason};
pub use sheet::{
    Loaded, Office, Problem, Problems, Sheet, SheetStatus, Synonyms, load_offices, load_sheets,
    load_synonyms,
};
