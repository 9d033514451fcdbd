//! A sheet's answer as HTML, the way an email shows it: the sheets' full text is Markdown
//! (CommonMark, parsed by `pulldown-cmark`), and the email's HTML part and the editors'
//! preview are both made here, so the preview shows what the citizen will read.
//!
//! Tables (as the sheets write them, GitHub style) and strikethrough are read too. Only what an
//! answer needs gets through: raw HTML in the text is shown as text, links keep
//! only `https:`, `http:` and `mailto:` targets, images become their description, and single
//! line breaks stay line breaks (answers are written as plain text too). Bare web addresses
//! become links, as in the plain-text emails before.

use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd, html};

fn safe_target(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    ["https://", "http://", "mailto:"]
        .iter()
        .any(|p| lower.starts_with(p))
}

/// Bare `http(s)://` addresses in a run of text, as links.
fn linkify(text: CowStr<'_>, out: &mut Vec<Event<'static>>) {
    let mut rest = text.as_ref();
    while let Some(start) = ["https://", "http://"]
        .iter()
        .filter_map(|p| rest.find(p))
        .min()
    {
        let len = rest[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
            .unwrap_or(rest.len() - start);
        // A sentence's last punctuation is not part of the address.
        let url = rest[start..start + len].trim_end_matches(['.', ',', ';', ':', ')', '!', '?']);
        if start > 0 {
            out.push(Event::Text(rest[..start].to_string().into()));
        }
        let dest: CowStr<'static> = url.to_string().into();
        out.push(Event::Start(Tag::Link {
            link_type: LinkType::Autolink,
            dest_url: dest.clone(),
            title: "".into(),
            id: "".into(),
        }));
        out.push(Event::Text(dest));
        out.push(Event::End(TagEnd::Link));
        rest = &rest[start + url.len()..];
    }
    if !rest.is_empty() {
        out.push(Event::Text(rest.to_string().into()));
    }
}

/// Markdown text as safe HTML (see the module's documentation).
pub fn to_html(text: &str) -> String {
    let mut events: Vec<Event<'static>> = Vec::new();
    // For each open link or image: whether it was kept.
    let mut open: Vec<bool> = Vec::new();
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES;
    for event in Parser::new_ext(text, options) {
        match event {
            Event::Html(s) | Event::InlineHtml(s) => {
                events.push(Event::Text(s.into_string().into()))
            }
            Event::SoftBreak => events.push(Event::HardBreak),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let keep = safe_target(&dest_url);
                open.push(keep);
                if keep {
                    events.push(Event::Start(Tag::Link {
                        link_type,
                        dest_url: dest_url.into_string().into(),
                        title: title.into_string().into(),
                        id: id.into_string().into(),
                    }));
                }
            }
            Event::Start(Tag::Image { .. }) => open.push(false),
            Event::End(TagEnd::Link) | Event::End(TagEnd::Image) => {
                if open.pop() == Some(true) {
                    events.push(Event::End(TagEnd::Link));
                }
            }
            Event::Text(t) if open.is_empty() => linkify(t, &mut events),
            other => events.push(other.into_static()),
        }
    }
    let mut out = String::with_capacity(text.len() * 5 / 4);
    html::push_html(&mut out, events.into_iter());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_emphasis_and_links_become_html() {
        let html = to_html(
            "Serve:\n\n- un documento\n- la **ricevuta**\n\n[Prenota](https://comune.test/p)",
        );
        assert!(html.contains("<ul>\n<li>un documento</li>"), "{html}");
        assert!(html.contains("<strong>ricevuta</strong>"), "{html}");
        assert!(
            html.contains(r#"<a href="https://comune.test/p">Prenota</a>"#),
            "{html}"
        );
    }

    #[test]
    fn a_table_of_costs_becomes_an_html_table() {
        let html = to_html("| Tipo | Costo |\n| --- | --- |\n| Visione | gratuita |");
        assert!(
            html.contains("<table>") && html.contains("<td>gratuita</td>"),
            "{html}"
        );
        assert!(!html.contains("| ---"), "{html}");
    }

    #[test]
    fn raw_html_and_script_links_are_shown_as_text() {
        let html = to_html("<script>alert(1)</script>\n\n[clic](javascript:alert(1)) <b>x</b>");
        assert!(
            !html.contains("<script>") && !html.contains("<b>"),
            "{html}"
        );
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("clic"), "{html}");
    }

    #[test]
    fn bare_addresses_become_links_and_line_breaks_stay() {
        let html = to_html("Apre alle 9 & chiude alle 12.\nOrari: https://comune.test/orari.");
        assert!(html.contains("9 &amp; chiude"), "{html}");
        assert!(html.contains("<br />"), "{html}");
        assert!(
            html.contains(r#"<a href="https://comune.test/orari">https://comune.test/orari</a>."#),
            "{html}"
        );
    }
}
