//! Posts as X counts them: 280 weighted characters, where code points in X's light ranges
//! weigh 1 and all others 2, every URL weighs 23 whatever its length, and an emoji (with its
//! modifiers and joined parts) weighs 2. Text is counted in Unicode NFC, as X does.
//!
//! [`fit`] shortens a text to the limit at a word boundary, never inside a word, keeping a
//! trailing link whole.

use unicode_normalization::UnicodeNormalization;

/// X's limit for one post.
pub const LIMIT: usize = 280;

/// What any URL weighs.
pub const URL_WEIGHT: usize = 23;

/// Code points that weigh 1 (twitter-text's configuration v3); the rest weigh 2.
const LIGHT: &[(u32, u32)] = &[
    (0x0000, 0x10FF),
    (0x2000, 0x200D),
    (0x2010, 0x201F),
    (0x2032, 0x2037),
];

/// Shown where a text was shortened (weighs 2: U+2026 is outside the light ranges).
const ELLIPSIS: char = '…';

/// The weighted length of `text` as X counts it.
pub fn weighted_len(text: &str) -> usize {
    let text: String = text.nfc().collect();
    let mut total = 0;
    for token in text.split_inclusive(char::is_whitespace) {
        let word = token.trim_end_matches(char::is_whitespace);
        let tail = &token[word.len()..];
        let (url, rest) = split_url(word);
        if url.is_some() {
            total += URL_WEIGHT;
        }
        total += plain_len(rest) + plain_len(tail);
    }
    total
}

/// A URL at the start of `word` (`http://`, `https://`, `www.`), without trailing
/// punctuation; the rest of the word.
fn split_url(word: &str) -> (Option<&str>, &str) {
    let lower = word.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("www."))
    {
        return (None, word);
    }
    let end = word
        .trim_end_matches(|c: char| ".,;:!?)\"'»".contains(c))
        .len();
    (Some(&word[..end]), &word[end..])
}

fn is_emoji_base(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0x2300..=0x23FF | 0x2190..=0x21FF)
        || c == '\u{00A9}'
        || c == '\u{00AE}'
}

fn is_emoji_modifier(c: char) -> bool {
    matches!(c as u32, 0xFE0F | 0x20E3 | 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F)
}

fn is_light(c: char) -> bool {
    LIGHT
        .iter()
        .any(|&(lo, hi)| (lo..=hi).contains(&(c as u32)))
}

/// Weighted length of text without URLs.
fn plain_len(s: &str) -> usize {
    let mut total = 0;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let keycap = c.is_ascii_digit() || c == '#' || c == '*';
        if is_emoji_base(c) || (keycap && chars.peek() == Some(&'\u{FE0F}')) {
            // One emoji: its modifiers, a second regional indicator, and ZWJ-joined parts.
            let flag = (0x1F1E6..=0x1F1FF).contains(&(c as u32));
            if flag
                && chars
                    .peek()
                    .is_some_and(|n| (0x1F1E6..=0x1F1FF).contains(&(*n as u32)))
            {
                chars.next();
            }
            loop {
                match chars.peek() {
                    Some(&m) if is_emoji_modifier(m) => {
                        chars.next();
                    }
                    Some('\u{200D}') => {
                        chars.next();
                        chars.next();
                    }
                    _ => break,
                }
            }
            total += 2;
        } else if is_light(c) {
            total += 1;
        } else {
            total += 2;
        }
    }
    total
}

/// `text` shortened to `limit` weighted characters: whole words only, an ellipsis where it
/// was cut, and a trailing link kept whole.
pub fn fit(text: &str, limit: usize) -> String {
    let text = text.trim();
    if weighted_len(text) <= limit {
        return text.to_string();
    }
    let (body, link) = match text.rsplit_once(char::is_whitespace) {
        Some((body, last)) if split_url(last).0.is_some() && split_url(last).1.is_empty() => {
            (body.trim_end(), Some(last))
        }
        _ => (text, None),
    };
    let reserve = link.map(|_| 1 + URL_WEIGHT).unwrap_or(0) + plain_len(&ELLIPSIS.to_string());
    let budget = limit.saturating_sub(reserve);
    let mut kept = String::new();
    for token in body.split_inclusive(char::is_whitespace) {
        let candidate = format!("{kept}{token}");
        if weighted_len(candidate.trim_end()) > budget {
            break;
        }
        kept = candidate;
    }
    let mut out = kept
        .trim_end()
        .trim_end_matches([',', ';', ':', '.'])
        .to_string();
    out.push(ELLIPSIS);
    if let Some(link) = link {
        out.push(' ');
        out.push_str(link);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_and_accented_letters_weigh_one() {
        assert_eq!(weighted_len("perché è così"), 13);
        // Decomposed "e" + combining accent is counted after NFC: one code point.
        assert_eq!(weighted_len("e\u{0301}"), 1);
    }

    #[test]
    fn ideographs_and_other_heavy_code_points_weigh_two() {
        assert_eq!(weighted_len("日本語"), 6);
        assert_eq!(weighted_len("“ok”"), 4, "curly quotes are in a light range");
    }

    #[test]
    fn every_url_weighs_23_whatever_its_length() {
        let long = format!("https://example.org/{}", "a".repeat(200));
        assert_eq!(weighted_len(&format!("vedi {long}")), 5 + 23);
        assert_eq!(weighted_len("vedi https://x.it."), 5 + 23 + 1);
    }

    #[test]
    fn an_emoji_weighs_two_with_its_modifiers_and_joins() {
        assert_eq!(weighted_len("👍"), 2);
        assert_eq!(weighted_len("👍🏽"), 2);
        assert_eq!(weighted_len("👩‍💻"), 2);
        assert_eq!(weighted_len("🇮🇹"), 2);
        assert_eq!(weighted_len("ok 👎"), 5);
    }

    #[test]
    fn fitting_cuts_between_words_and_keeps_the_link() {
        let words =
            "Per la carta d'identità elettronica prenota un appuntamento presso l'anagrafe "
                .repeat(6);
        let text = format!("{words}https://comune.example.it/carta-identita");
        let fitted = fit(&text, LIMIT);
        assert!(weighted_len(&fitted) <= LIMIT, "{}", weighted_len(&fitted));
        assert!(
            fitted.ends_with("… https://comune.example.it/carta-identita"),
            "{fitted}"
        );
        let body = fitted.trim_end_matches("… https://comune.example.it/carta-identita");
        let last = body.rsplit(' ').next().unwrap();
        assert!(
            words.split(' ').any(|w| w == last),
            "{last:?} is a whole word"
        );
    }

    #[test]
    fn a_text_within_the_limit_is_left_alone() {
        assert_eq!(
            fit("Orari: 9-17. https://x.it", LIMIT),
            "Orari: 9-17. https://x.it"
        );
        let exactly: String = "é".repeat(280);
        assert_eq!(fit(&exactly, LIMIT), exactly);
    }

    #[test]
    fn heavy_text_is_fitted_by_weight_not_by_characters() {
        let text = "日本語 ".repeat(100);
        let fitted = fit(&text, LIMIT);
        assert!(weighted_len(&fitted) <= LIMIT);
        assert!(fitted.chars().count() < 200);
    }
}
