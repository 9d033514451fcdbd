//! What the double records and what can be injected into it.

use serde_json::Value;
use std::time::{Duration, Instant};

/// A message the bot sent with an accepted `sendMessage`.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    /// The chat it went to.
    pub chat_id: i64,
    /// The id the double gave it (growing per chat).
    pub message_id: i64,
    /// The text as the bot sent it, markup included (the reply carries the parsed text).
    pub text: String,
    /// The parse mode it asked for, if any.
    pub parse_mode: Option<String>,
    /// Its reply markup as sent, if any.
    pub reply_markup: Option<Value>,
    /// When the double accepted it.
    pub at: Instant,
}

/// One request the double received, whatever its fate.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The method as the contract spells it (as requested when the contract has no such method).
    pub method: String,
    /// Its parameters after decoding (JSON null when the body could not be read).
    pub params: Value,
    /// The HTTP status answered; 0 when no answer was given (a [`Fault::Drop`], a request still
    /// waiting, or one whose client went away first).
    pub status: u16,
    /// When the request arrived.
    pub at: Instant,
}

/// A fault to inject into the next calls of a method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 with `parameters.retry_after`, as Telegram's flood control answers.
    TooManyRequests {
        /// Seconds the client is told to wait.
        retry_after: u32,
    },
    /// That status (e.g. 502) with a JSON error body naming it (`"Bad Gateway"`).
    ServerError(u16),
    /// 403 "Forbidden: bot was blocked by the user".
    Forbidden,
    /// Waits that long, then answers normally.
    Slow(Duration),
    /// Closes the connection without any HTTP response.
    Drop,
    /// 200 with a body that is not valid JSON.
    MalformedJson,
}
