//! Crashes, outages, a changed UIDVALIDITY, a backlog, the daily cap and bad input: nothing
//! is lost and nothing is answered twice.

use std::time::Duration;

use crate::servers::OFFICE;
use crate::support::{Office, crlf, email};
use crate::{IN_EMAIL, SENT};

/// Abort (as kill -9 would) at `failpoint` while the first mail is handled, restart: one
/// answer, one stored message.
async fn crash_and_restart(failpoint: &str) {
    let mut office = Office::new().await;
    office.env("SPORTELLO_FAILPOINT", failpoint);
    office.start().await;
    let who = "luca@cittadini.test";
    let raw = email(who, "Pink card", "", "come richiedo la pink card?");
    office.mail.submit(who, OFFICE, &raw).await;
    let status = office.wait_exit().await;
    assert!(!status.success(), "the failpoint aborted the process");
    office.env("SPORTELLO_FAILPOINT", "");
    office.start().await;
    office.mail.wait_mail(who, 1).await;
    // A second question, answered after the first: had the first been answered twice, its
    // second answer would have come before this one.
    let raw = email(who, "Orari", "", "quali sono gli orari dell'URP?");
    office.mail.submit(who, OFFICE, &raw).await;
    office.wait_count(IN_EMAIL, 2).await;
    office.wait_count(SENT, 2).await;
    let answers = office.mail.wait_mail(who, 2).await;
    assert_eq!(answers.len(), 2, "{failpoint}: one answer per question");
    assert_eq!(office.count(IN_EMAIL).await, 2, "{failpoint}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_fetch_and_before_the_commit_the_mail_is_answered_once() {
    crash_and_restart("intake.before_commit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_commit_and_before_the_flag_the_mail_is_answered_once() {
    crash_and_restart("intake.after_commit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_that_waited_in_postfix_during_a_dovecot_outage_is_all_answered_once() {
    let mut office = Office::new().await;
    office.start().await;
    office.mail.stop_dovecot();
    for n in 21..=40 {
        let from = format!("c{n}@cittadini.test");
        let raw = email(&from, "Pink card", "", "come richiedo la pink card?");
        office.mail.submit(&from, OFFICE, &raw).await;
    }
    // The outage lasts `SPORTELLO_TEST_EMAIL_OUTAGE_SECS` (default two minutes); Sportello
    // sees it.
    let outage: u64 = std::env::var("SPORTELLO_TEST_EMAIL_OUTAGE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    tokio::time::sleep(Duration::from_secs(outage)).await;
    let health = office.health().await;
    assert!(
        health["channels"]["email"]["consecutive_errors"].as_u64() > Some(0),
        "{health}"
    );
    office.mail.start_dovecot().await;
    office.mail.flush_queue();
    office.wait_count(IN_EMAIL, 20).await;
    office.wait_count(SENT, 20).await;
    for n in 21..=40 {
        let got = office
            .mail
            .wait_mail(&format!("c{n}@cittadini.test"), 1)
            .await;
        assert_eq!(got.len(), 1, "c{n}");
    }
    assert_eq!(office.count(IN_EMAIL).await, 20);
    assert_eq!(
        office
            .count("select count(*) from outbox where channel = 'email'")
            .await,
        20
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_uidvalidity_rescans_without_duplicates() {
    let mut office = Office::new().await;
    office.start().await;
    for n in 41..=43 {
        let from = format!("c{n}@cittadini.test");
        let raw = email(&from, "Pink card", "", "come richiedo la pink card?");
        office.mail.submit(&from, OFFICE, &raw).await;
    }
    office.wait_count(SENT, 3).await;
    assert_eq!(office.stop(), Some(0));
    office.mail.change_uidvalidity(4242);
    office.start().await;
    let raw = email(
        "c44@cittadini.test",
        "Pink card",
        "",
        "come richiedo la pink card?",
    );
    office.mail.submit("c44@cittadini.test", OFFICE, &raw).await;
    office.mail.wait_mail("c44@cittadini.test", 1).await;
    office.wait_count(IN_EMAIL, 4).await;
    assert_eq!(office.count(IN_EMAIL).await, 4, "nothing stored twice");
    assert_eq!(
        office
            .count("select count(*) from outbox where channel = 'email'")
            .await,
        4,
        "nothing answered twice"
    );
    assert!(
        office.logs().contains("UIDVALIDITY changed"),
        "the change is logged"
    );
    for n in 41..=43 {
        assert_eq!(
            office
                .mail
                .mailbox(&format!("c{n}@cittadini.test"))
                .await
                .len(),
            1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_of_500_mails_is_answered_at_start() {
    let mut office = Office::new().await;
    for n in 1..=500 {
        let from = format!("c{n}@cittadini.test");
        let raw = email(&from, "Pink card", "", "come richiedo la pink card?");
        office.mail.submit(&from, OFFICE, &raw).await;
    }
    office.mail.wait_mail(OFFICE, 500).await;
    office.start().await;
    office.wait_count(IN_EMAIL, 500).await;
    office.wait_count(SENT, 500).await;
    assert_eq!(
        office
            .count("select count(distinct recipient) from outbox where channel = 'email'")
            .await,
        500
    );
    assert_eq!(
        office
            .count("select count(*) from outbox where channel = 'email'")
            .await,
        500
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_gets_no_more_automatic_replies_than_the_daily_cap() {
    let mut office = Office::new().await;
    office.env("SPORTELLO_EMAIL__AUTO_REPLIES_PER_SENDER_PER_DAY", "2");
    office.start().await;
    let who = "bruno@cittadini.test";
    for subject in ["Uno", "Due", "Tre"] {
        let raw = email(who, subject, "", "come richiedo la pink card?");
        office.mail.submit(who, OFFICE, &raw).await;
    }
    office.wait_count(IN_EMAIL, 3).await;
    assert_eq!(
        office
            .count("select count(*) from outbox where channel = 'email'")
            .await,
        2
    );
    assert_eq!(
        office
            .count(
                "select count(*) from messages where channel = 'email' and reason = 'no_auto_reply'"
            )
            .await,
        1,
        "the third goes to operators silently"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_stored_without_stopping_the_channel() {
    let mut office = Office::new().await;
    office.start().await;
    let from = "c45@cittadini.test";
    let mut inputs: Vec<Vec<u8>> = vec![
        crlf("From: c45@cittadini.test\nSubject: rotto\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=X\n\n--X\nContent-Type: text/plain\n\nnon finisce mai"),
        crlf("\nsolo testo, nessuna intestazione"),
        b"From: Gi\xf2 <c45@cittadini.test>\r\nSubject: citt\xe0 \xff\r\n\r\ntesto con intestazioni a 8 bit\r\n".to_vec(),
        crlf("From: c45@cittadini.test\nSubject: charset\nMIME-Version: 1.0\nContent-Type: text/plain; charset=x-klingon\n\nQapla'"),
    ];
    let mut nested = crlf("From: c45@cittadini.test\nSubject: fondo\n\nil messaggio più interno");
    for i in 0..10 {
        let mut outer = crlf(&format!(
            "From: c45@cittadini.test\nSubject: livello {i}\nMIME-Version: 1.0\nContent-Type: message/rfc822\n\n"
        ));
        outer.extend_from_slice(&nested);
        nested = outer;
    }
    inputs.push(nested);
    let mut big = crlf(
        "From: c45@cittadini.test\nSubject: 50 MB\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=Z\n\n\
         --Z\nContent-Type: application/octet-stream; name=grande.bin\nContent-Transfer-Encoding: base64\n\n",
    );
    big.extend(std::iter::repeat_n(b"QUJDRA==\r\n".as_slice(), 5_000_000).flatten());
    big.extend_from_slice(b"--Z--\r\n");
    inputs.push(big);
    let n = inputs.len() as i64;
    for raw in inputs {
        office.mail.submit(from, OFFICE, &raw).await;
    }
    office.wait_count(IN_EMAIL, n).await;
    // The channel goes on: an ordinary mail after them is answered.
    let raw = email(
        "c46@cittadini.test",
        "Pink card",
        "",
        "come richiedo la pink card?",
    );
    office.mail.submit("c46@cittadini.test", OFFICE, &raw).await;
    office.mail.wait_mail("c46@cittadini.test", 1).await;
    assert_eq!(office.count(IN_EMAIL).await, n + 1);
    assert!(!office.logs().contains("panicked"), "{}", office.logs());
}
