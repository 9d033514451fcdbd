//! The email channel end to end, on private Dovecot and Postfix instances: citizens' mail
//! enters through Postfix, Sportello reads the office's mailbox by IMAP over TLS and answers
//! through Postfix with STARTTLS, and the tests read the answers in the citizens' mailboxes.

mod servers;
mod support;

use servers::OFFICE;
use support::{Office, body, email, header, message_id};

const MARIO: &str = "mario@cittadini.test";

const IN_EMAIL: &str = "select count(*) from messages where channel = 'email' and direction = 'in'";
const SENT: &str = "select count(*) from outbox where channel = 'email' and state = 'sent'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_gets_a_threaded_answer_and_a_reply_joins_the_thread() {
    let mut office = Office::new().await;
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
    assert_eq!(health["channels"]["email"]["mode"], "idle", "{health}");
}
