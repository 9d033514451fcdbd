//! X's weighted length of a post, as the double checks it: the double's own reading of X's
//! counting rules (twitter-text's configuration v3), written apart from the bot's so that a
//! mistake in one is caught by the other.

/// Code point ranges that weigh 1; every other code point weighs 2.
const LIGHT: &[(u32, u32)] = &[
    (0x0000, 0x10FF),
    (0x2000, 0x200D),
    (0x2010, 0x201F),
    (0x2032, 0x2037),
];

/// What a URL weighs, whatever its length.
const URL_WEIGHT: usize = 23;

/// The weighted length of `text`.
pub fn weighted_len(text: &str) -> usize {
    let mut total = 0;
    let mut first = true;
    for word in text.split(' ') {
        if !first {
            total += 1;
        }
        first = false;
        if word.starts_with("https://") || word.starts_with("http://") {
            total += URL_WEIGHT;
            continue;
        }
        let mut chars = word.chars().peekable();
        while let Some(c) = chars.next() {
            if is_emoji(c) {
                // A flag is two regional indicators.
                let regional = |c: char| ('\u{1F1E6}'..='\u{1F1FF}').contains(&c);
                if regional(c) && chars.peek().is_some_and(|&n| regional(n)) {
                    chars.next();
                }
                // An emoji and its joiners and modifiers count 2 together.
                while let Some(&n) = chars.peek() {
                    if n == '\u{200D}'
                        || n == '\u{FE0F}'
                        || ('\u{1F3FB}'..='\u{1F3FF}').contains(&n)
                    {
                        chars.next();
                        if n == '\u{200D}' {
                            chars.next();
                        }
                    } else {
                        break;
                    }
                }
                total += 2;
            } else if LIGHT
                .iter()
                .any(|&(lo, hi)| (lo..=hi).contains(&(c as u32)))
            {
                total += 1;
            } else {
                total += 2;
            }
        }
    }
    total
}

fn is_emoji(c: char) -> bool {
    matches!(c as u32, 0x1F000..=0x1FAFF | 0x2600..=0x27BF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_count_23_and_ideographs_2() {
        assert_eq!(
            weighted_len("ciao https://example.org/a/very/long/path/indeed"),
            5 + 23
        );
        assert_eq!(weighted_len("日本"), 4);
        assert_eq!(weighted_len("perché"), 6);
        assert_eq!(weighted_len("👍"), 2);
        assert_eq!(weighted_len("👩‍💻"), 2);
        assert_eq!(weighted_len("🇮🇹"), 2);
    }
}
