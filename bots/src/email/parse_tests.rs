use super::*;

const OFFICE: &str = "urp@comune.test";

fn mail(headers: &str, body: &str) -> Vec<u8> {
    format!("{headers}\r\n\r\n{body}")
        .replace("\r\n", "\n")
        .replace('\n', "\r\n")
        .into_bytes()
}

#[test]
fn plain_text_is_preferred_and_quoted_part_kept_apart() {
    let raw = mail(
        "From: Mario Rossi <Mario.Rossi@Example.org>\nTo: urp@comune.test\nSubject: Re: Orari\n\
         Message-ID: <abc@example.org>\nIn-Reply-To: <sent-1@comune.test>\n\
         References: <first@example.org> <sent-1@comune.test>\nMIME-Version: 1.0\n\
         Content-Type: multipart/alternative; boundary=b",
        "--b\nContent-Type: text/plain; charset=utf-8\n\nE il sabato?\n\n> Gli orari sono 9-12\n\
         --b\nContent-Type: text/html\n\n<p>HTML version</p>\n--b--\n",
    );
    let m = parse(&raw, OFFICE);
    assert_eq!(m.platform_id, "abc@example.org");
    assert_eq!(m.from_address, "mario.rossi@example.org");
    assert_eq!(m.from_name, "Mario Rossi");
    assert_eq!(m.subject.as_deref(), Some("Re: Orari"));
    assert_eq!(
        m.references,
        vec!["sent-1@comune.test", "first@example.org"]
    );
    assert_eq!(m.reply_text, "E il sabato?");
    assert!(m.text.contains("> Gli orari sono 9-12"));
    assert_eq!(m.no_reply, None);
}

#[test]
fn iso_8859_1_html_only_mail_becomes_text_with_links() {
    let mut raw = mail(
        "From: anna@example.org\nSubject: =?ISO-8859-1?Q?Citt=E0?=\nMessage-ID: <h@x>\n\
         Content-Type: text/html; charset=ISO-8859-1\nContent-Transfer-Encoding: 8bit",
        "",
    );
    raw.extend_from_slice(
        b"<html><style>x{}</style><body><p>Vorrei la carta d'identit\xe0 <a href=\"https://x.it/cie\">qui</a></p></body></html>",
    );
    let m = parse(&raw, OFFICE);
    assert_eq!(m.subject.as_deref(), Some("Città"));
    assert_eq!(m.text, "Vorrei la carta d'identità qui (https://x.it/cie)");
}

#[test]
fn attachments_and_inline_images_are_collected_with_safe_names() {
    let raw = mail(
        "From: a@example.org\nSubject: doc\nContent-Type: multipart/mixed; boundary=m",
        "--m\nContent-Type: multipart/related; boundary=r\n\n--r\nContent-Type: text/html\n\n\
         <p>vedi <img src=\"cid:img1\"></p>\n--r\nContent-Type: image/png\nContent-ID: <img1>\n\
         Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--r--\n\
         --m\nContent-Type: application/pdf; name=\"../../modulo.pdf\"\n\
         Content-Disposition: attachment; filename=\"../../modulo.pdf\"\n\
         Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--m--\n",
    );
    let m = parse(&raw, OFFICE);
    let names: Vec<&str> = m.attachments.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(m.attachments.len(), 2, "{names:?}");
    assert!(names.contains(&"modulo.pdf"), "{names:?}");
    let pdf = m
        .attachments
        .iter()
        .find(|a| a.name == "modulo.pdf")
        .unwrap();
    assert_eq!(pdf.mime, "application/pdf");
    assert_eq!(pdf.data, b"%PDF-1.4\n");
    assert!(m.attachments.iter().any(|a| a.mime == "image/png"));
}

#[test]
fn loop_protection_rules() {
    let cases = [
        ("Auto-Submitted: auto-replied", Some("auto_submitted")),
        ("Auto-Submitted: no", None),
        ("Precedence: bulk", Some("precedence")),
        ("Precedence: list", Some("precedence")),
        ("List-Id: <news.example.org>", Some("mailing_list")),
        ("List-Unsubscribe: <mailto:u@x>", Some("mailing_list")),
        ("X-Autoreply: yes", Some("autoreply")),
        ("X-Autorespond: yes", Some("autoreply")),
        ("Return-Path: <>", Some("null_return_path")),
        ("Return-Path: <mario@example.org>", None),
    ];
    for (header, expected) in cases {
        let raw = mail(
            &format!("From: mario@example.org\nSubject: s\n{header}"),
            "ciao",
        );
        assert_eq!(parse(&raw, OFFICE).no_reply, expected, "{header}");
    }
    for from in [
        "MAILER-DAEMON@x.org",
        "postmaster@x.org",
        "noreply@x.org",
        "no-reply@x.org",
        "URP@comune.test",
    ] {
        let raw = mail(&format!("From: {from}\nSubject: s"), "ciao");
        assert!(parse(&raw, OFFICE).no_reply.is_some(), "{from}");
    }
}

#[test]
fn bounce_names_the_original_message_and_diagnostic() {
    let raw = mail(
        "From: MAILER-DAEMON@comune.test (Mail Delivery System)\nSubject: Undelivered Mail\n\
         Return-Path: <>\nContent-Type: multipart/report; report-type=delivery-status; boundary=B",
        "--B\nContent-Type: text/plain\n\nI'm sorry.\n\
         --B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n\
         Final-Recipient: rfc822; ghost@cittadini.test\nAction: failed\nStatus: 5.1.1\n\
         Diagnostic-Code: smtp; 550 5.1.1 <ghost@cittadini.test> User doesn't exist\n\
         --B\nContent-Type: message/rfc822\n\nFrom: urp@comune.test\nMessage-ID: <sportello.7@comune.test>\n\
         Subject: Re: x\n\nbody\n--B--\n",
    );
    let m = parse(&raw, OFFICE);
    let b = m.bounce.expect("a bounce");
    assert_eq!(b.original_id.as_deref(), Some("sportello.7@comune.test"));
    assert_eq!(b.recipient.as_deref(), Some("ghost@cittadini.test"));
    assert!(b.failed);
    assert!(b.diagnostic.contains("5.1.1") && b.diagnostic.contains("User doesn't exist"));
    assert_eq!(m.no_reply, Some("bounce"));
}

#[test]
fn pec_envelope_is_unwrapped_and_receipts_never_answered() {
    let raw = mail(
        "From: \"Per conto di: mario@pec.example.it\" <posta-certificata@pec.provider.it>\n\
         Subject: POSTA CERTIFICATA: Istanza accesso atti\nX-Trasporto: posta-certificata\n\
         Message-ID: <opec.1@pec.provider.it>\nContent-Type: multipart/mixed; boundary=P",
        "--P\nContent-Type: text/plain\n\nMessaggio di posta certificata\n\
         --P\nContent-Type: application/xml; name=daticert.xml\nContent-Disposition: attachment; filename=daticert.xml\n\n<postacert/>\n\
         --P\nContent-Type: message/rfc822; name=postacert.eml\nContent-Disposition: attachment; filename=postacert.eml\n\n\
         From: Mario Rossi <mario@pec.example.it>\nSubject: Istanza accesso atti\nMessage-ID: <inner@pec.example.it>\n\n\
         Chiedo l'accesso agli atti.\n--P--\n",
    );
    let m = parse(&raw, OFFICE);
    assert_eq!(m.pec, Some(Pec::Message));
    assert_eq!(m.from_address, "mario@pec.example.it");
    assert_eq!(m.subject.as_deref(), Some("Istanza accesso atti"));
    assert_eq!(m.text, "Chiedo l'accesso agli atti.");
    assert_eq!(m.platform_id, "opec.1@pec.provider.it");
    let names: Vec<&str> = m.attachments.iter().map(|a| a.name.as_str()).collect();
    assert!(
        names.contains(&"daticert.xml") && names.contains(&"postacert.eml"),
        "{names:?}"
    );
    assert_eq!(m.no_reply, None);

    let receipt = mail(
        "From: posta-certificata@pec.provider.it\nSubject: ACCETTAZIONE: x\nX-Ricevuta: accettazione\n\
         X-Trasporto: posta-certificata",
        "ricevuta",
    );
    let m = parse(&receipt, OFFICE);
    assert_eq!(m.pec, Some(Pec::Receipt("accettazione".into())));
    assert_eq!(m.no_reply, Some("pec_receipt"));
}

#[test]
fn a_mail_without_message_id_gets_a_stable_hash() {
    let raw = mail("From: a@example.org\nSubject: s", "uno");
    let a = parse(&raw, OFFICE).platform_id;
    assert!(a.starts_with("sha256:"));
    assert_eq!(a, parse(&raw, OFFICE).platform_id);
    assert_ne!(
        a,
        parse(&mail("From: a@example.org\nSubject: s", "due"), OFFICE).platform_id
    );
}

#[test]
fn bad_input_never_panics() {
    let mut inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\0\0\0".to_vec(),
        b"no headers at all".to_vec(),
        mail("Content-Type: multipart/mixed; boundary=x", "--x\nbroken"),
        mail("Content-Type: multipart/mixed", "no boundary"),
        mail(
            "From: =?unknown-8bit?Q?=E0?= <a@b.c>\nContent-Type: text/plain; charset=x-klingon",
            "\u{fffd}",
        ),
        b"From: Gi\xf2 \xff <a@b.c>\r\nSubject: \xe0\xe8\r\n\r\nbody \xff".to_vec(),
        mail("From: a@b.c\nMessage-ID: <\r>", ""),
    ];
    // nested message/rfc822 ten deep
    let mut nested = mail("From: a@b.c\nSubject: leaf", "deepest");
    for i in 0..10 {
        let mut outer = mail(
            &format!("From: a@b.c\nSubject: level {i}\nContent-Type: message/rfc822"),
            "",
        );
        outer.extend_from_slice(&nested);
        nested = outer;
    }
    inputs.push(nested);
    // 50 MB
    let mut big = mail(
        "From: a@b.c\nSubject: big\nContent-Type: multipart/mixed; boundary=z",
        "--z\nContent-Type: application/octet-stream; name=big.bin\nContent-Transfer-Encoding: base64\n\n",
    );
    big.extend(std::iter::repeat_n(b"QUJDRA==\r\n".as_slice(), 5_000_000).flatten());
    big.extend_from_slice(b"--z--\r\n");
    inputs.push(big);
    for raw in inputs.iter().take(3) {
        assert!(
            !parse(raw, OFFICE).problems.is_empty(),
            "a log line names the problem"
        );
    }
    for raw in inputs {
        let m = parse(&raw, OFFICE);
        assert!(!m.platform_id.is_empty());
        assert!(!m.platform_id.contains(['\r', '\n']));
        assert!(!m.text.contains('\0'));
    }
}
