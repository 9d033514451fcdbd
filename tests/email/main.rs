//! The email channel end to end, on private Dovecot and Postfix instances: citizens' mail
//! enters through Postfix, Sportello reads the office's mailbox by IMAP over TLS and answers
//! through Postfix with STARTTLS, and the tests read the answers in the citizens' mailboxes.

mod servers;
mod support;

use servers::OFFICE;
use support::{Office, body, email, header, message_id};

mod console;
mod resilience;

const MARIO: &str = "mario@cittadini.test";

pub(crate) const IN_EMAIL: &str =
    "select count(*) from messages where channel = 'email' and direction = 'in'";
pub(crate) const SENT: &str =
    "select count(*) from outbox where channel = 'email' and state = 'sent'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_gets_a_threaded_answer_and_a_reply_joins_the_thread() {
    question_answer_and_reply(Office::new().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_gets_a_threaded_answer_and_a_reply_joins_the_thread_on_postgres() {
    question_answer_and_reply(Office::postgres().await).await;
}

async fn question_answer_and_reply(mut office: Office) {
    office.start().await;
    let question = email(
        "Mario Rossi <mario@cittadini.test>",
        "Pink card",
        "",
        "Buongiorno,\ncome richiedo la pink card?\n\n-- \nMario Rossi\nVia Roma 1",
    );
    office.mail.submit(MARIO, OFFICE, &question).await;
    let answer = office.mail.wait_mail(MARIO, 1).await.remove(0);
    assert_eq!(header(&answer, "Subject").as_deref(), Some("Re: Pink card"));
    let asked = message_id(&question);
    assert_eq!(header(&answer, "In-Reply-To"), Some(format!("<{asked}>")));
    assert!(header(&answer, "References").unwrap().contains(&asked));
    assert_eq!(
        header(&answer, "Auto-Submitted").as_deref(),
        Some("auto-replied")
    );
    let from = header(&answer, "From").unwrap();
    assert!(
        from.contains("URP Comune di Prova") && from.contains(OFFICE),
        "{from}"
    );
    let text = body(&answer);
    assert!(text.contains("Pink Card"), "{text}");
    assert!(
        text.contains("## Chi può richiederlo"),
        "the sheet's whole body: {text}"
    );
    assert!(text.contains("https://"), "the sheet's link: {text}");
    assert!(
        text.contains("Ufficio Relazioni con il Pubblico"),
        "signature: {text}"
    );
    let content_type = header(&answer, "Content-Type").unwrap();
    assert!(
        content_type.contains("multipart/alternative"),
        "{content_type}"
    );

    // The citizen replies, quoting the whole answer: the reply joins the conversation, and
    // only the new words are matched (the quoted answer names the pink card again).
    let quoted: String = text.lines().map(|l| format!("> {l}\n")).collect();
    let reply = email(
        "Mario Rossi <mario@cittadini.test>",
        "Re: Pink card",
        &format!(
            "In-Reply-To: <{id}>\nReferences: <{asked}> <{id}>",
            id = message_id(&answer)
        ),
        &format!(
            "Grazie mille.\n\nIl giorno lun 1 dic 2025 alle 10:00 URP <{OFFICE}> ha scritto:\n{quoted}"
        ),
    );
    office.mail.submit(MARIO, OFFICE, &reply).await;
    office.wait_count(IN_EMAIL, 2).await;
    let conversations = office
        .count("select count(distinct conversation_id) from messages where channel = 'email'")
        .await;
    assert_eq!(conversations, 1, "the reply joined the thread");
    let store = office.store().await;
    let (text, sheet): (String, Option<String>) = sqlx::query_as(
        "select text, sheet_id from messages where channel = 'email' and direction = 'in' order by id desc limit 1",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(text, "Grazie mille.");
    assert_eq!(sheet, None, "the quoted answer was not matched again");
    let health = office.health().await;
    assert_eq!(health["channels"]["email"]["running"], true, "{health}");
    assert_eq!(
        health["channels"]["email"]["details"]["mode"], "idle",
        "{health}"
    );
    assert!(
        health["channels"]["email"]["last_ok_ms"].is_i64(),
        "{health}"
    );
    let metrics = reqwest::get(format!("{}/metrics", office.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("sportello_channel_push{channel=\"email\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("sportello_channel_last_ok_seconds{channel=\"email\"}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iso_8859_1_html_only_mail_is_read_and_answered() {
    let mut office = Office::new().await;
    office.start().await;
    let mut raw = support::crlf(
        "From: Anna <anna@cittadini.test>\nTo: urp@comune.test\nSubject: =?ISO-8859-1?Q?Informazioni_sulla_carta_d'identit=E0?=\n\
         Message-ID: <latin1@cittadini.test>\nMIME-Version: 1.0\nContent-Type: text/html; charset=ISO-8859-1\n\
         Content-Transfer-Encoding: 8bit\n\n",
    );
    raw.extend_from_slice(
        b"<html><head><style>p { color: red }</style><script>var x = 1;</script></head><body>\
          <p>Come richiedo la <b>pink card</b>?</p><p>Citt\xe0: \
          <a href=\"https://example.org/anna\">Bologna</a></p></body></html>\r\n",
    );
    office
        .mail
        .submit("anna@cittadini.test", OFFICE, &raw)
        .await;
    let answer = office
        .mail
        .wait_mail("anna@cittadini.test", 1)
        .await
        .remove(0);
    assert!(body(&answer).contains("Pink Card"), "{}", body(&answer));
    assert_eq!(
        support::subject(&answer),
        "Re: Informazioni sulla carta d'identità"
    );
    let store = office.store().await;
    let text: String = sqlx::query_scalar(
        "select text from messages where channel = 'email' and direction = 'in'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert!(
        text.contains("Città: Bologna (https://example.org/anna)"),
        "{text}"
    );
    assert!(!text.contains("color") && !text.contains("var x"), "{text}");
    let subject: String = sqlx::query_scalar("select subject from conversations")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(subject, "Informazioni sulla carta d'identità");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_replies_list_mail_and_system_senders_are_stored_but_never_answered() {
    let mut office = Office::new().await;
    office.start().await;
    let quiet = [
        ("c1@cittadini.test", "Auto-Submitted: auto-replied"),
        ("c2@cittadini.test", "Precedence: bulk"),
        ("c3@cittadini.test", "List-Id: <notizie.cittadini.test>"),
        (
            "c4@cittadini.test",
            "List-Unsubscribe: <mailto:leave@cittadini.test>",
        ),
        ("c5@cittadini.test", "X-Autoreply: yes"),
        ("noreply@cittadini.test", ""),
        (OFFICE, ""),
    ];
    for (from, extra) in quiet {
        let raw = email(
            from,
            "Fuori ufficio: pink card",
            extra,
            "Sono fuori ufficio. Come richiedo la pink card?",
        );
        office.mail.submit(from, OFFICE, &raw).await;
    }
    // A citizen's ordinary mail after them is answered: the others were read before it.
    let raw = email(
        "c6@cittadini.test",
        "Pink card",
        "",
        "come richiedo la pink card?",
    );
    office.mail.submit("c6@cittadini.test", OFFICE, &raw).await;
    office.mail.wait_mail("c6@cittadini.test", 1).await;
    office.wait_count(IN_EMAIL, 8).await;
    let outbox = office
        .count("select count(*) from outbox where channel = 'email'")
        .await;
    assert_eq!(outbox, 1, "only the ordinary mail was answered");
    let queued = office
        .count("select count(*) from messages where channel = 'email' and reason = 'no_auto_reply'")
        .await;
    assert_eq!(queued, 7, "the others wait for operators");
    for n in 1..=5 {
        assert!(
            office
                .mail
                .mailbox(&format!("c{n}@cittadini.test"))
                .await
                .is_empty()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounce_marks_the_reply_failed_and_the_citizen_unreachable() {
    let mut office = Office::new().await;
    office.start().await;
    // The citizen's domain accepts the question, but the mailbox does not exist: Postfix
    // returns the answer to the office as a delivery-status report.
    let ghost = "ghost@cittadini.test";
    let raw = email(ghost, "Pink card", "", "come richiedo la pink card?");
    office.mail.submit(ghost, OFFICE, &raw).await;
    office
        .wait_count(
            "select count(*) from outbox where channel = 'email' and state = 'failed'",
            1,
        )
        .await;
    let store = office.store().await;
    let (error,): (String,) = sqlx::query_as("select last_error from outbox")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert!(error.contains("5.1.1"), "{error}");
    let unreachable: i64 = sqlx::query_scalar(
        "select unreachable from contacts where external_id = 'ghost@cittadini.test'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(unreachable, 1);
    // The bounce is stored in the same conversation, for operators, and not answered.
    office.wait_count(IN_EMAIL, 2).await;
    let conversations = office
        .count("select count(distinct conversation_id) from messages where channel = 'email'")
        .await;
    assert_eq!(conversations, 1);
    let outbox = office
        .count("select count(*) from outbox where channel = 'email'")
        .await;
    assert_eq!(outbox, 1, "the bounce got no answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pec_message_is_unwrapped_and_its_receipts_are_not_answered() {
    let mut office = Office::new().await;
    office.start().await;
    let pec = support::crlf(&format!(
        "From: \"Per conto di: pec@cittadini.test\" <posta-certificata@pec.cittadini.test>\n\
         Reply-To: pec@cittadini.test\nTo: {OFFICE}\nSubject: POSTA CERTIFICATA: Pink card\n\
         Message-ID: <opec.1@pec.cittadini.test>\nX-Trasporto: posta-certificata\nMIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=PEC\n\n\
         --PEC\nContent-Type: text/plain\n\nMessaggio di posta certificata inviato da pec@cittadini.test\n\
         --PEC\nContent-Type: application/xml; name=daticert.xml\nContent-Disposition: attachment; filename=daticert.xml\n\n\
         <postacert tipo=\"posta-certificata\"/>\n\
         --PEC\nContent-Type: message/rfc822; name=postacert.eml\nContent-Disposition: attachment; filename=postacert.eml\n\n\
         From: Paola Esposito <pec@cittadini.test>\nTo: {OFFICE}\nSubject: Pink card\nMessage-ID: <inner@cittadini.test>\n\n\
         Come richiedo la pink card?\n--PEC--\n"
    ));
    office
        .mail
        .submit("posta-certificata@pec.cittadini.test", OFFICE, &pec)
        .await;
    let receipt = email(
        "posta-certificata@pec.cittadini.test",
        "ACCETTAZIONE: Pink card",
        "X-Ricevuta: accettazione\nX-Trasporto: posta-certificata",
        "Ricevuta di accettazione",
    );
    office
        .mail
        .submit("posta-certificata@pec.cittadini.test", OFFICE, &receipt)
        .await;
    let answer = office
        .mail
        .wait_mail("pec@cittadini.test", 1)
        .await
        .remove(0);
    assert!(body(&answer).contains("Pink Card"));
    assert_eq!(header(&answer, "Subject").as_deref(), Some("Re: Pink card"));
    office.wait_count(IN_EMAIL, 2).await;
    let store = office.store().await;
    let (who, attachments): (String, String) = sqlx::query_as(
        "select k.external_id, m.attachments from messages m join conversations c on c.id = m.conversation_id \
         join contacts k on k.id = c.contact_id where m.platform_id = 'opec.1@pec.cittadini.test'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(who, "pec@cittadini.test");
    assert!(attachments.contains("daticert.xml") && attachments.contains("postacert.eml"));
    let outbox = office
        .count("select count(*) from outbox where channel = 'email'")
        .await;
    assert_eq!(outbox, 1, "the receipt got no answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_are_kept_up_to_the_limit_and_recorded_beyond_it() {
    let mut office = Office::new().await;
    office.start().await;
    for (from, size) in [
        ("c7@cittadini.test", 10_000_000usize),
        ("c8@cittadini.test", 30_000_000),
    ] {
        let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let mut raw = support::crlf(&format!(
            "From: {from}\nTo: {OFFICE}\nSubject: Documento\nMessage-ID: <att.{size}@cittadini.test>\n\
             MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=ATT\n\n\
             --ATT\nContent-Type: text/plain\n\nAllego il modulo firmato.\n\
             --ATT\nContent-Type: application/pdf; name=\"../modulo.pdf\"\n\
             Content-Disposition: attachment; filename=\"../modulo.pdf\"\nContent-Transfer-Encoding: base64\n\n"
        ));
        let b64 = base64_lines(&payload);
        raw.extend_from_slice(&b64);
        raw.extend_from_slice(b"--ATT--\r\n");
        office.mail.submit(from, OFFICE, &raw).await;
    }
    office.wait_count(IN_EMAIL, 2).await;
    let store = office.store().await;
    let rows: Vec<(String, i64, Option<i64>, Option<String>)> = sqlx::query_as(
        "select name, size, length(data), note from email_attachments order by size",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0].0, "modulo.pdf");
    assert_eq!((rows[0].1, rows[0].2), (10_000_000, Some(10_000_000)));
    assert_eq!(rows[0].3, None);
    assert_eq!((rows[1].1, rows[1].2), (30_000_000, None));
    assert!(rows[1].3.as_deref().unwrap().contains("limite"), "{rows:?}");
}

fn base64_lines(data: &[u8]) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(data.len() * 4 / 3 + data.len() / 38 + 8);
    for line in data.chunks(57) {
        for chunk in line.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]);
                } else {
                    out.push(b'=');
                }
            }
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_idle_the_mailbox_is_polled() {
    let mut office = Office::without_idle().await;
    office.env("SPORTELLO_EMAIL__POLL_SECS", "1");
    office.start().await;
    let raw = email(
        "anna@cittadini.test",
        "Pink card",
        "",
        "come richiedo la pink card?",
    );
    office
        .mail
        .submit("anna@cittadini.test", OFFICE, &raw)
        .await;
    let answer = office
        .mail
        .wait_mail("anna@cittadini.test", 1)
        .await
        .remove(0);
    assert!(body(&answer).contains("Pink Card"));
    let health = office.health().await;
    assert_eq!(
        health["channels"]["email"]["details"]["mode"], "poll",
        "{health}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_mail_is_flagged_seen_or_moved_and_never_deleted() {
    let mut office = Office::new().await;
    office.start().await;
    let raw = email(
        "c47@cittadini.test",
        "Pink card",
        "",
        "come richiedo la pink card?",
    );
    office.mail.submit("c47@cittadini.test", OFFICE, &raw).await;
    office.mail.wait_mail("c47@cittadini.test", 1).await;
    // The flag is set after the commit, maybe after the answer left: wait for it.
    let inbox = folder_until(&office, "INBOX", |f| f.iter().all(|(_, seen)| *seen)).await;
    assert_eq!(inbox.len(), 1);

    assert_eq!(office.stop(), Some(0));
    office.env("SPORTELLO_EMAIL__PROCESSED_MAILBOX", "Sportello");
    office.env("SPORTELLO_EMAIL__MARK_SEEN", "false");
    office.start().await;
    let raw = email(
        "c48@cittadini.test",
        "Pink card",
        "",
        "come richiedo la pink card?",
    );
    office.mail.submit("c48@cittadini.test", OFFICE, &raw).await;
    office.mail.wait_mail("c48@cittadini.test", 1).await;
    let processed = folder_until(&office, "Sportello", |f| !f.is_empty()).await;
    assert_eq!(processed.len(), 1, "moved after the commit");
    assert_eq!(
        support::message_id(&processed[0].0),
        support::message_id(&raw)
    );
    assert_eq!(
        office.mail.folder(OFFICE, "INBOX").await.len(),
        1,
        "the first one stays"
    );
}

/// The office's mailbox `name` once `done` holds for it (within a minute).
async fn folder_until(
    office: &Office,
    name: &str,
    done: impl Fn(&[(Vec<u8>, bool)]) -> bool,
) -> Vec<(Vec<u8>, bool)> {
    let deadline = std::time::Instant::now() + support::PATIENCE;
    loop {
        let folder = office.mail.folder(OFFICE, name).await;
        if done(&folder) {
            return folder;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name}: {} messages",
            folder.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_over_starttls_and_smtp_in_clear_on_loopback_work_too() {
    let mut office = Office::new().await;
    let port = office.mail.imap_port.to_string();
    office.env("SPORTELLO_EMAIL__IMAP_PORT", &port);
    office.env("SPORTELLO_EMAIL__IMAP_TLS", "starttls");
    office.env("SPORTELLO_EMAIL__SMTP_TLS", "none");
    office.start().await;
    let raw = email(
        "c50@cittadini.test",
        "Pink card",
        "",
        "come richiedo la pink card?",
    );
    office.mail.submit("c50@cittadini.test", OFFICE, &raw).await;
    let answer = office
        .mail
        .wait_mail("c50@cittadini.test", 1)
        .await
        .remove(0);
    assert!(body(&answer).contains("Pink Card"));
}
