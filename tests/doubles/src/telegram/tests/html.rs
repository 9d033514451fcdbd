use crate::telegram::html::parse;
use serde_json::json;

fn error(input: &str) -> String {
    parse(input).expect_err(input)
}

#[test]
fn the_five_usual_entities_and_numeric_ones_are_decoded() {
    let parsed = parse("a &lt;b&gt; &amp; &quot;c&quot; &#39;d&#39; &#x41;&#66;").unwrap();
    assert_eq!(parsed.text, "a <b> & \"c\" 'd' AB");
    assert!(parsed.entities.is_empty());
}

#[test]
fn tags_are_stripped_and_give_entities_in_utf16_units() {
    let parsed = parse("😀 <b>bold <i>both</i></b> <u>u</u>").unwrap();
    assert_eq!(parsed.text, "😀 bold both u");
    assert_eq!(
        parsed.entities,
        vec![
            json!({"type": "bold", "offset": 3, "length": 9}),
            json!({"type": "italic", "offset": 8, "length": 4}),
            json!({"type": "underline", "offset": 13, "length": 1}),
        ]
    );
}

#[test]
fn every_tag_telegram_lists_is_accepted_in_any_case() {
    let input = "<B>b</B><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s>\
        <strike>k</strike><del>d</del><a href=\"https://example.org/?a=1&amp;b=2\">a</a>\
        <code>c</code><pre>p</pre><tg-spoiler>t</tg-spoiler><span class=\"tg-spoiler\">x</span>\
        <blockquote>q</blockquote><blockquote expandable>w</blockquote>\
        <pre><code class=\"language-rust\">fn</code></pre><tg-emoji emoji-id=\"5368324170671202286\">👍</tg-emoji>";
    let parsed = parse(input).unwrap();
    assert_eq!(parsed.text, "bsieunskdacptxqwfn👍");
    let types: Vec<&str> = parsed
        .entities
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "bold",
            "bold",
            "italic",
            "italic",
            "underline",
            "underline",
            "strikethrough",
            "strikethrough",
            "strikethrough",
            "text_link",
            "code",
            "pre",
            "spoiler",
            "spoiler",
            "blockquote",
            "expandable_blockquote",
            "pre",
            "custom_emoji"
        ]
    );
    assert_eq!(parsed.entities[9]["url"], "https://example.org/?a=1&b=2");
    assert_eq!(parsed.entities[16]["language"], "rust");
}

#[test]
fn a_bare_greater_than_sign_is_let_through_as_telegram_does() {
    assert_eq!(parse("1 > 0").unwrap().text, "1 > 0");
}

#[test]
fn an_unclosed_tag_is_refused() {
    assert_eq!(
        error("<b>bold"),
        "Can't find end tag corresponding to start tag \"b\""
    );
}

#[test]
fn crossed_tags_are_refused() {
    assert_eq!(
        error("<b><i>x</b></i>"),
        "Unmatched end tag at byte offset 7, expected \"</i>\", found \"</b>\""
    );
}

#[test]
fn an_end_tag_without_start_is_refused() {
    assert_eq!(error("x</b>"), "Unexpected end tag at byte offset 1");
}

#[test]
fn an_unescaped_less_than_sign_is_refused() {
    assert_eq!(
        error("a < b"),
        "Unsupported start tag \"\" at byte offset 2"
    );
    assert_eq!(error("x <3"), "Unclosed start tag at byte offset 2");
}

#[test]
fn tags_telegram_does_not_support_are_refused() {
    assert_eq!(
        error("<div>x</div>"),
        "Unsupported start tag \"div\" at byte offset 0"
    );
    assert_eq!(
        error("a<br>b"),
        "Unsupported start tag \"br\" at byte offset 1"
    );
}

#[test]
fn an_unescaped_ampersand_is_refused() {
    assert!(error("AT&T").starts_with("Unescaped \"&\" at byte offset 2"));
    assert!(error("fish & chips").starts_with("Unescaped \"&\""));
    assert_eq!(
        error("a&nbsp;b"),
        "Unsupported HTML entity \"&nbsp;\" at byte offset 1"
    );
}

#[test]
fn a_span_must_be_a_spoiler() {
    assert_eq!(
        error("<span>x</span>"),
        "Tag \"span\" must have class \"tg-spoiler\" at byte offset 0"
    );
}

#[test]
fn an_attribute_without_value_is_refused_except_expandable() {
    assert!(error("<a href>x</a>").starts_with("Expected equal sign"));
    assert!(parse("<blockquote expandable>x</blockquote>").is_ok());
}

#[test]
fn an_unterminated_attribute_is_refused() {
    assert_eq!(
        error("<a href=\"x>y</a>"),
        "Unclosed start tag at byte offset 0"
    );
}

#[test]
fn empty_entities_are_dropped() {
    assert!(parse("<b></b>x").unwrap().entities.is_empty());
}
