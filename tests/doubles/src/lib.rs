//! Test doubles of the SaaS platforms Sportello talks to, which no test machine can reach.
//!
//! # Layout
//!
//! - [`telegram`]: the Telegram Bot API, validated against `shared/contracts/telegram-bot-api-9.1.json`.
//! - [`x`]: the X API v2 (mentions, DMs, posts, OAuth 2.0 tokens), following
//!   `shared/contracts/x-api-v2-openapi.json`.

pub mod telegram;
pub mod x;
