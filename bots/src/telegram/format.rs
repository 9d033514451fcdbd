//! Replies as Telegram messages: HTML-escaped, split at 4,096 characters on paragraph
//! boundaries, buttons as an inline keyboard.

use sportello_core::model::Button;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

/// Telegram's longest message, in characters after entity parsing.
pub const TEXT_LIMIT: usize = 4096;

/// Telegram's longest callback data, in bytes.
const CALLBACK_DATA_LIMIT: usize = 64;

/// Escape text for HTML parse mode: everything Sportello sends is text, never markup.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// Split `text` into parts of at most `limit` characters, at a paragraph break where there is
/// one, else at a line break, else at a space, else anywhere.
pub fn split(text: &str, limit: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = text.trim();
    while rest.chars().count() > limit {
        // Byte offset of the first character past the limit.
        let end = rest
            .char_indices()
            .nth(limit)
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        let window = &rest[..end];
        let cut = ["\n\n", "\n", " "]
            .iter()
            .find_map(|sep| window.rfind(sep).filter(|&i| i > 0))
            .unwrap_or(end);
        parts.push(rest[..cut].trim_end().to_string());
        rest = rest[cut..].trim_start();
    }
    if !rest.is_empty() || parts.is_empty() {
        parts.push(rest.to_string());
    }
    parts
}

/// Buttons as an inline keyboard, one per row (sheet titles are long). A button whose data
/// Telegram would refuse is left out rather than losing the whole message.
pub fn keyboard(buttons: &[Button]) -> Option<InlineKeyboardMarkup> {
    let rows: Vec<Vec<InlineKeyboardButton>> = buttons
        .iter()
        .filter_map(|b| {
            let data = b.data.to_string();
            let fits = data.len() <= CALLBACK_DATA_LIMIT;
            if !fits {
                tracing::warn!(%data, "button data does not fit Telegram's 64 bytes; button left out");
            }
            fits.then(|| vec![InlineKeyboardButton::callback(b.label.clone(), data)])
        })
        .collect();
    (!rows.is_empty()).then(|| InlineKeyboardMarkup::new(rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sportello_core::protocol::ButtonData;

    #[test]
    fn markup_in_citizen_or_sheet_text_is_escaped() {
        assert_eq!(
            escape("<b>ciao</b> & \"tu\""),
            "&lt;b&gt;ciao&lt;/b&gt; &amp; &quot;tu&quot;"
        );
    }

    #[test]
    fn long_texts_split_on_paragraphs_within_the_limit() {
        let para = "parola ".repeat(300);
        let text = format!("{para}\n\n{para}\n\n{para}");
        let parts = split(&text, TEXT_LIMIT);
        // Two paragraphs would not fit in one message: each goes whole in its own.
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| p.chars().count() <= TEXT_LIMIT));
        assert!(parts[0].ends_with("parola"));
        assert_eq!(parts.concat().matches("parola").count(), 900);
    }

    #[test]
    fn a_text_of_emoji_with_no_spaces_is_cut_on_characters() {
        let text = "😀".repeat(5000);
        let parts = split(&text, TEXT_LIMIT);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].chars().count(), TEXT_LIMIT);
        assert_eq!(parts[1].chars().count(), 5000 - TEXT_LIMIT);
    }

    #[test]
    fn a_short_text_is_one_part() {
        assert_eq!(split("ciao", TEXT_LIMIT), vec!["ciao".to_string()]);
    }

    #[test]
    fn buttons_with_oversized_data_are_left_out() {
        let ok = Button::new("Pink Card", ButtonData::Sheet("pink-card".into()));
        let long = Button::new("x", ButtonData::Sheet("a".repeat(80)));
        let kb = keyboard(&[ok, long]).unwrap();
        assert_eq!(kb.inline_keyboard.len(), 1);
        assert!(keyboard(&[]).is_none());
    }
}
