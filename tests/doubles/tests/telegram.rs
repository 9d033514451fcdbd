//! Self-tests of the Telegram double, spoken to over HTTP with reqwest as a bot would.

#[path = "telegram/support.rs"]
mod support;

#[path = "telegram/conflicts.rs"]
mod conflicts;
#[path = "telegram/contract.rs"]
mod contract;
#[path = "telegram/conversation.rs"]
mod conversation;
#[path = "telegram/faults.rs"]
mod faults;
#[path = "telegram/updates.rs"]
mod updates;
