//! Text helpers of the email channel: HTML to text, quoted history and signatures, subjects,
//! and values made safe for headers and file names.

/// Plain text of an HTML body: block elements become line breaks, links keep their target
/// (`text (https://…)`), `style`, `script` and `head` are dropped, entities are decoded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    let mut skip_until: Option<&'static str> = None;
    let mut href: Option<String> = None;
    while let Some(lt) = rest.find('<') {
        if skip_until.is_none() {
            push_text(&mut out, &rest[..lt]);
        }
        let after = &rest[lt + 1..];
        if let Some(body) = after.strip_prefix("!--") {
            rest = body.find("-->").map_or("", |end| &body[end + 3..]);
            continue;
        }
        let Some(gt) = after.find('>') else {
            rest = "";
            break;
        };
        let tag = &after[..gt];
        rest = &after[gt + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if let Some(end) = skip_until {
            if closing && name == end {
                skip_until = None;
            }
            continue;
        }
        match (name.as_str(), closing) {
            ("style", false) => skip_until = Some("style"),
            ("script", false) => skip_until = Some("script"),
            ("head", false) => skip_until = Some("head"),
            ("title", false) => skip_until = Some("title"),
            ("a", false) => href = attribute(tag, "href"),
            ("a", true) => {
                if let Some(target) = href.take()
                    && !target.starts_with('#')
                    && !target.starts_with("mailto:")
                    && !out.ends_with(&target)
                {
                    out.push_str(" (");
                    out.push_str(&target);
                    out.push(')');
                }
            }
            ("br", _) => out.push('\n'),
            ("li", false) => {
                newline(&mut out);
                out.push_str("- ");
            }
            (
                "p" | "div" | "tr" | "table" | "ul" | "ol" | "blockquote" | "h1" | "h2" | "h3"
                | "h4" | "h5" | "h6" | "hr" | "pre",
                _,
            ) => newline(&mut out),
            ("td" | "th", true) => out.push(' '),
            _ => {}
        }
    }
    if skip_until.is_none() {
        push_text(&mut out, rest);
    }
    tidy(&out)
}

fn newline(out: &mut String) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

/// Append text from HTML: whitespace collapsed, entities decoded.
fn push_text(out: &mut String, text: &str) {
    let decoded = decode_entities(text);
    for (i, word) in decoded.split_whitespace().enumerate() {
        if (i > 0 || decoded.starts_with(char::is_whitespace))
            && !out.is_empty()
            && !out.ends_with([' ', '\n'])
        {
            out.push(' ');
        }
        out.push_str(word);
    }
    if decoded.ends_with(char::is_whitespace) && !decoded.trim().is_empty() {
        out.push(' ');
    }
}

/// The value of `name="…"` in a tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = lower[from..].find(name) {
        let start = from + pos;
        from = start + name.len();
        let before_ok = start == 0 || lower.as_bytes()[start - 1].is_ascii_whitespace();
        let rest = lower[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let offset = tag.len() - rest.len() + 1;
        let value = tag[offset..].trim_start();
        let (quote, body) = match value.chars().next() {
            Some(q @ ('"' | '\'')) => (Some(q), &value[1..]),
            _ => (None, value),
        };
        let end = match quote {
            Some(q) => body.find(q).unwrap_or(body.len()),
            None => body.find(char::is_whitespace).unwrap_or(body.len()),
        };
        return Some(decode_entities(&body[..end]).trim().to_string());
    }
    None
}

/// Decode the common named entities and numeric ones.
fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after.find(';').filter(|&e| e <= 10);
        let decoded = end.and_then(|e| {
            let name = &after[..e];
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" | "#39" => '\'',
                "nbsp" => ' ',
                "egrave" => 'è',
                "eacute" => 'é',
                "agrave" => 'à',
                "ograve" => 'ò',
                "ugrave" => 'ù',
                "igrave" => 'ì',
                "euro" => '€',
                _ => {
                    let n = name.strip_prefix('#')?;
                    let code = match n.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => n.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Trailing spaces removed, no more than one empty line in a row, trimmed.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut empty = 0;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            empty += 1;
            if empty > 1 {
                continue;
            }
        } else {
            empty = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim().to_string()
}

/// The citizen's own words: the text before quoted history (`>` lines, Italian and English
/// reply headers, forwarded originals) and before the `-- ` signature.
pub fn strip_quoted(text: &str) -> String {
    let mut kept = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if line == "-- " || line == "--" || is_history_start(trimmed) {
            break;
        }
        if trimmed.starts_with('>') {
            continue;
        }
        kept.push(line);
    }
    // An "On … wrote:" header can wrap over two lines.
    while let Some(last) = kept.last() {
        let t = last.trim().to_lowercase();
        if t.is_empty() || t.starts_with("il giorno") || t.starts_with("on ") && t.len() < 120 {
            kept.pop();
        } else {
            break;
        }
    }
    kept.join("\n").trim().to_string()
}

fn is_history_start(line: &str) -> bool {
    let lower = line.to_lowercase();
    let dashed = lower.trim_matches(|c: char| c == '-' || c == '_' || c.is_whitespace());
    if matches!(
        dashed,
        "messaggio originale"
            | "original message"
            | "messaggio inoltrato"
            | "forwarded message"
            | "inizio messaggio inoltrato:"
    ) {
        return true;
    }
    let header_line = (lower.starts_with("il giorno")
        || lower.starts_with("il ") && lower.contains(" alle ")
        || lower.starts_with("on "))
        && (lower.ends_with("ha scritto:") || lower.ends_with("wrote:"));
    header_line
        || (lower.ends_with(" wrote:") || lower == "wrote:" || lower.ends_with("ha scritto:"))
            && lower.len() < 200
        || lower.starts_with("da: ") && lower.contains('@')
        || lower.starts_with("from: ") && lower.contains('@')
}

/// A subject without reply and forward prefixes (`Re:`, `R:`, `Fwd:`, `Fw:`, `I:`, `Rif:`),
/// whitespace collapsed, lower case: the key that joins mails of one request.
pub fn normalize_subject(subject: &str) -> String {
    let mut s = subject.trim();
    loop {
        let lower = s.to_lowercase();
        let prefix = ["re:", "r:", "fwd:", "fw:", "i:", "rif:", "aw:", "tr:"]
            .iter()
            .find(|p| lower.starts_with(*p))
            .or_else(|| {
                // "Re[2]:"
                lower
                    .strip_prefix("re[")
                    .and_then(|r| r.find("]:"))
                    .map(|_| &"re[")
            });
        match prefix {
            Some(&"re[") => s = s[s.find("]:").map_or(s.len(), |i| i + 2)..].trim_start(),
            Some(p) => s = s[p.len()..].trim_start(),
            None => break,
        }
    }
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The subject of a reply: `Re: ` and the subject without its prefixes, never `Re: Re:`.
pub fn reply_subject(subject: Option<&str>) -> String {
    let subject = header_safe(subject.unwrap_or(""));
    let mut s = subject.trim();
    loop {
        let lower = s.to_lowercase();
        match ["re:", "r:", "aw:"].iter().find(|p| lower.starts_with(*p)) {
            Some(p) => s = s[p.len()..].trim_start(),
            None => break,
        }
    }
    if s.is_empty() {
        "Re: richiesta all'URP".into()
    } else {
        format!("Re: {s}")
    }
}

/// A value safe in a header: control characters (CR and LF above all) become spaces.
pub fn header_safe(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A file name safe to offer for download: no folders, no control or reserved characters,
/// at most 120 characters.
pub fn safe_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if "<>:\"|?*;".contains(c) { '_' } else { c })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        "allegato".into()
    } else {
        cleaned.chars().take(120).collect()
    }
}

#[cfg(test)]
#[path = "text_tests.rs"]
mod tests;
