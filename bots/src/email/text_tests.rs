use super::*;

#[test]
fn html_keeps_links_and_drops_style_and_script() {
    let html = "<html><head><title>t</title><style>p{color:red}</style></head><body>\
                <p>Buongiorno,&nbsp;vorrei sapere gli orari dell&#39;anagrafe.</p>\
                <script>alert(1)</script><p>Vedi <a href=\"https://comune.example.it/orari\">la pagina</a>.</p>\
                <ul><li>uno</li><li>due &amp; tre</li></ul></body></html>";
    let text = html_to_text(html);
    assert_eq!(
        text,
        "Buongiorno, vorrei sapere gli orari dell'anagrafe.\nVedi la pagina (https://comune.example.it/orari).\n- uno\n- due & tre"
    );
    assert!(!text.contains("color") && !text.contains("alert"));
}

#[test]
fn html_survives_broken_markup() {
    for html in [
        "<",
        "<p",
        "<a href=>x",
        "&#xZZ; &amp",
        "<!-- never closed",
        "<<>>",
    ] {
        let _ = html_to_text(html);
    }
    assert_eq!(html_to_text("a &lt;b&gt; c"), "a <b> c");
}

#[test]
fn quoted_history_and_signature_are_stripped() {
    let text = "Grazie, e per la carta d'identità?\n\n-- \nMario Rossi\nVia Roma 1";
    assert_eq!(strip_quoted(text), "Grazie, e per la carta d'identità?");
    let text = "Va bene.\n\nIl giorno lun 3 mar 2025 alle 10:00 URP <urp@comune.it> ha scritto:\n> Gli orari sono…\n";
    assert_eq!(strip_quoted(text), "Va bene.");
    let text = "Ok thanks\nOn Mon, 3 Mar 2025 at 10:00, URP <urp@comune.it>\nwrote:\n> hours";
    assert_eq!(strip_quoted(text), "Ok thanks");
    let text = "Ecco.\n-----Messaggio originale-----\nDa: URP\nOggetto: orari";
    assert_eq!(strip_quoted(text), "Ecco.");
    let text = "Here.\n-----Original Message-----\nFrom: x";
    assert_eq!(strip_quoted(text), "Here.");
    let text = "> citazione\nrisposta in mezzo\n> altra";
    assert_eq!(strip_quoted(text), "risposta in mezzo");
}

#[test]
fn subjects_normalise_and_replies_never_double_re() {
    assert_eq!(
        normalize_subject("Re: R: Fwd: I:  Orari   Anagrafe"),
        "orari anagrafe"
    );
    assert_eq!(normalize_subject("RE[2]: Tari"), "tari");
    assert_eq!(reply_subject(Some("Re: RE: Orari")), "Re: Orari");
    assert_eq!(reply_subject(Some("Orari")), "Re: Orari");
    assert_eq!(reply_subject(None), "Re: richiesta all'URP");
}

#[test]
fn header_values_cannot_carry_line_breaks() {
    let evil = "Orari\r\nBcc: victim@example.org\r\n\r\nbody";
    let safe = header_safe(evil);
    assert!(!safe.contains(['\r', '\n']));
    assert_eq!(reply_subject(Some(evil)), format!("Re: {safe}"));
}

#[test]
fn file_names_lose_folders_and_reserved_characters() {
    assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
    assert_eq!(safe_file_name("C:\\x\\a<b>.pdf"), "a_b_.pdf");
    assert_eq!(safe_file_name("\r\n"), "allegato");
    assert_eq!(safe_file_name(".htaccess"), "htaccess");
}
