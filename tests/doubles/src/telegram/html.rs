//! Telegram's HTML parse mode: the tags it supports, properly nested, and text with `<` and `&`
//! escaped. [`parse`] gives the text a chat shows (tags stripped, entities decoded) with the
//! message entities Telegram would report, or the error Telegram's parser words.
//!
//! Stricter than Telegram's server in one point, following its documentation ("All `<`, `>` and
//! `&` symbols that are not a part of a tag or an HTML entity must be replaced"): a bare `&` is
//! refused. A bare `>` is let through, as the server does.

use serde_json::{Value, json};

/// What a text in HTML parse mode leaves after parsing.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The text without tags, entities decoded.
    pub text: String,
    /// `MessageEntity` objects; offsets and lengths in UTF-16 code units, sorted by offset.
    pub entities: Vec<Value>,
}

/// The tags Telegram supports, space-separated.
const TAGS: &str =
    "b strong i em u ins s strike del a code pre tg-spoiler span blockquote tg-emoji";

struct Open {
    tag: String,
    start: usize,
    url: Option<String>,
    language: Option<String>,
    expandable: bool,
    emoji_id: Option<String>,
}

/// Parses `input` as Telegram's HTML parse mode. The error is the part of the description that
/// follows "Bad Request: can't parse entities: ".
pub fn parse(input: &str) -> Result<Parsed, String> {
    let mut text = String::new();
    let mut utf16 = 0;
    let mut stack: Vec<Open> = Vec::new();
    let mut entities = Vec::new();
    let bytes = input.as_bytes();
    let mut i = 0;
    while i < input.len() {
        match bytes[i] {
            b'&' => {
                let (c, len) = entity(&input[i..]).ok_or_else(|| bad_entity(input, i))?;
                text.push(c);
                utf16 += c.len_utf16();
                i += len;
            }
            b'<' if bytes.get(i + 1) == Some(&b'/') => {
                let begin = i;
                let close = input[i..]
                    .find('>')
                    .ok_or(format!("Unclosed end tag at byte offset {begin}"))?;
                let tag = input[i + 2..i + close].trim_end().to_ascii_lowercase();
                i += close + 1;
                let open = stack
                    .pop()
                    .ok_or(format!("Unexpected end tag at byte offset {begin}"))?;
                if open.tag != tag {
                    return Err(format!(
                        "Unmatched end tag at byte offset {begin}, expected \"</{}>\", found \"</{tag}>\"",
                        open.tag
                    ));
                }
                if let Some(entity) = close_entity(open, utf16, &mut stack) {
                    entities.push(entity);
                }
            }
            b'<' => {
                let (open, next) = start_tag(input, i, utf16)?;
                i = next;
                stack.push(open);
            }
            _ => {
                let c = input[i..].chars().next().unwrap_or_default();
                text.push(c);
                utf16 += c.len_utf16();
                i += c.len_utf8();
            }
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!(
            "Can't find end tag corresponding to start tag \"{}\"",
            open.tag
        ));
    }
    entities.sort_by_key(|e| {
        (
            e["offset"].as_u64(),
            std::cmp::Reverse(e["length"].as_u64()),
        )
    });
    Ok(Parsed { text, entities })
}

/// Why the `&` at byte `i` is not a valid entity.
fn bad_entity(input: &str, i: usize) -> String {
    match input[i + 1..].find(';') {
        Some(end) if end < 10 && !input[i + 1..i + 1 + end].contains(char::is_whitespace) => {
            let entity = &input[i..i + 2 + end];
            format!("Unsupported HTML entity \"{entity}\" at byte offset {i}")
        }
        _ => format!("Unescaped \"&\" at byte offset {i}: write &amp;"),
    }
}

/// Decodes the entity at the start of `s` (which starts with `&`): the four named ones Telegram
/// supports and every numeric one. Gives the character and the entity's length in bytes.
fn entity(s: &str) -> Option<(char, usize)> {
    let end = s[..s.len().min(12)].find(';')?;
    let name = &s[1..end];
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        _ => {
            let code =
                if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()?
                } else {
                    name.strip_prefix('#')?.parse().ok()?
                };
            char::from_u32(code).filter(|c| *c != '\0')?
        }
    };
    Some((c, end + 1))
}

/// Reads the start tag at `begin`; gives it and the byte offset after its `>`.
fn start_tag(input: &str, begin: usize, utf16: usize) -> Result<(Open, usize), String> {
    let bytes = input.as_bytes();
    let unclosed = || format!("Unclosed start tag at byte offset {begin}");
    let is_end = |b: u8| b.is_ascii_whitespace() || b == b'>';
    let mut i = begin + 1;
    while i < bytes.len() && !is_end(bytes[i]) {
        i += 1;
    }
    if i >= bytes.len() {
        return Err(unclosed());
    }
    let tag = input[begin + 1..i].to_ascii_lowercase();
    if !TAGS.split(' ').any(|t| t == tag) {
        return Err(format!(
            "Unsupported start tag \"{tag}\" at byte offset {begin}"
        ));
    }
    let mut open = Open {
        tag,
        start: utf16,
        url: None,
        language: None,
        expandable: false,
        emoji_id: None,
    };
    let mut class = None;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        match bytes.get(i) {
            None => return Err(unclosed()),
            Some(b'>') => break,
            Some(_) => {}
        }
        let name_start = i;
        while i < bytes.len() && !is_end(bytes[i]) && bytes[i] != b'=' {
            i += 1;
        }
        let name = input[name_start..i].to_ascii_lowercase();
        if name.is_empty() {
            return Err(format!(
                "Empty attribute name in the tag \"{}\" at byte offset {i}",
                open.tag
            ));
        }
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if bytes.get(i) != Some(&b'=') {
            if open.tag == "blockquote" && name == "expandable" {
                open.expandable = true;
                continue;
            }
            let tag = &open.tag;
            return Err(format!(
                "Expected equal sign in declaration of an attribute of the tag \"{tag}\" at byte offset {begin}"
            ));
        }
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let raw = match bytes.get(i) {
            None => return Err(unclosed()),
            Some(&quote @ (b'"' | b'\'')) => {
                let end = input[i + 1..].find(quote as char).ok_or_else(unclosed)? + i + 1;
                let raw = &input[i + 1..end];
                i = end + 1;
                raw
            }
            Some(_) => {
                let start = i;
                while i < bytes.len() && !is_end(bytes[i]) {
                    i += 1;
                }
                &input[start..i]
            }
        };
        let value = decode_lenient(raw);
        match (open.tag.as_str(), name.as_str()) {
            ("a", "href") => open.url = Some(value),
            ("code", "class") => open.language = value.strip_prefix("language-").map(String::from),
            ("span", "class") => class = Some(value),
            ("tg-emoji", "emoji-id") => open.emoji_id = Some(value),
            _ => {} // Telegram ignores other attributes.
        }
    }
    if open.tag == "span" && class.as_deref() != Some("tg-spoiler") {
        return Err(format!(
            "Tag \"span\" must have class \"tg-spoiler\" at byte offset {begin}"
        ));
    }
    if open.tag == "tg-emoji" && open.emoji_id.is_none() {
        return Err(format!(
            "Tag \"tg-emoji\" must have attribute \"emoji-id\" at byte offset {begin}"
        ));
    }
    Ok((open, i + 1))
}

/// Attribute values: entities decoded where valid, anything else kept as written.
fn decode_lenient(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        match entity(&rest[at..]) {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[at + len..];
            }
            None => {
                out.push('&');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The entity a closed tag makes, if any (empty ones are dropped, as Telegram drops them).
fn close_entity(open: Open, end: usize, stack: &mut [Open]) -> Option<Value> {
    let (offset, length) = (open.start, end - open.start);
    if open.tag == "code"
        && open.language.is_some()
        && let Some(parent) = stack.last_mut().filter(|p| p.tag == "pre")
    {
        parent.language = open.language;
        return None;
    }
    if length == 0 {
        return None;
    }
    let kind = match open.tag.as_str() {
        "b" | "strong" => "bold",
        "i" | "em" => "italic",
        "u" | "ins" => "underline",
        "s" | "strike" | "del" => "strikethrough",
        "tg-spoiler" | "span" => "spoiler",
        "code" => "code",
        "pre" => "pre",
        "blockquote" if open.expandable => "expandable_blockquote",
        "blockquote" => "blockquote",
        "tg-emoji" => "custom_emoji",
        _ => "text_link",
    };
    let mut entity = json!({ "type": kind, "offset": offset, "length": length });
    match kind {
        "text_link" => entity["url"] = json!(open.url?),
        "pre" if open.language.is_some() => entity["language"] = json!(open.language),
        "custom_emoji" => entity["custom_emoji_id"] = json!(open.emoji_id),
        _ => {}
    }
    Some(entity)
}
