//! Test doubles of the SaaS platforms Sportello talks to, which no test machine can reach.
//!
//! # Layout
//!
//! - [`telegram`]: the Telegram Bot API, validated against `shared/contracts/telegram-bot-api-9.1.json`.

pub mod telegram;
