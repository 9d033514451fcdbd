//! The core of Sportello: domain types, the store, intake, policy, outbox and dispatcher.
//!
//! # Layout
//!
//! - [`model`]: `Inbound`, `Outgoing`, conversation statuses, roles.
//! - [`config`]: `sportello.toml` with `SPORTELLO_<SECTION>__<KEY>` overrides.
//! - [`store`]: sqlx on SQLite or PostgreSQL, chosen by URL; migrations; one file per table
//!   group (conversations, outbox, sheets, users).
//! - [`intake`]: one transaction per inbound message (dedupe, conversation, message, cursor,
//!   decision, outbox).
//! - [`knowledge`]: the matcher over the published sheets, rebuilt in every process when
//!   they change (PostgreSQL `LISTEN/NOTIFY`, SQLite fingerprint polling).
//! - [`policy`]: turns the `faq` matcher's decision into a reply for the channel.
//! - [`channel`]: the `Channel` trait every platform adapter implements, and an in-memory one.
//! - [`dispatcher`]: the outbox worker, with backoff and exact `retry_after`.
//! - [`health`]: channel state and counters for `/healthz` and `/metrics`.
//! - [`calendar`]: the office's working days, hours, holidays and time zone.
//! - [`hours`]: those hours in words, for `{hours}` and "the office reopens …".
//! - [`stats`]: the office's figures over a period (volumes, rates, times, feedback).
//! - [`protocol`]: button data and slash commands, encoded and parsed in one place.
//! - [`secret`]: random tokens, their hashes, constant-time comparison.
//! - [`resume`]: the web chat's signed personal links back to a conversation.
//! - [`markdown`]: a sheet's Markdown answer as the safe HTML an email shows (and the
//!   editors' preview with it).
//! - [`testing`]: a fresh database per test, on either backend.
//! - [`clock`]: milliseconds on tokio's clock, so tests can pause time.
//!
//! Errors are one [`Error`] enum; the binary and tests use `anyhow`.

pub mod calendar;
pub mod channel;
pub mod clock;
pub mod config;
pub mod dispatcher;
pub mod error;
pub mod failpoint;
pub mod health;
pub mod hours;
pub mod intake;
pub mod knowledge;
pub mod markdown;
pub mod model;
pub mod policy;
pub mod protocol;
pub mod resume;
pub mod secret;
pub mod stats;
pub mod store;
pub mod testing;

pub use error::{Error, Refusal, RefusalKind, Result};
