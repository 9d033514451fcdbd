//! Email backlog benchmark: 2,000 citizens' mails wait in the office's mailbox on private
//! Dovecot and Postfix instances; `sportello serve` (this build, on SQLite) starts, reads them
//! by IMAP over TLS, and commits each with its reply in the outbox. Prints mails per second
//! from the moment `/healthz` answers until the last reply is committed (the dispatcher sends
//! replies through Postfix meanwhile, as in production).
//!
//!   cargo bench --bench email            (needs scripts/mail-servers, run as root)
//!
//! `SPORTELLO_BENCH_EMAILS` changes the number of mails.
#![allow(dead_code, missing_docs)]

#[path = "../tests/email/servers.rs"]
mod servers;
#[path = "../tests/email/support.rs"]
mod support;

use std::time::{Duration, Instant};

use servers::OFFICE;
use support::{Office, email};

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let total: usize = std::env::var("SPORTELLO_BENCH_EMAILS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000)
        .min(servers::CITIZENS);
    let mut office = Office::new().await;
    office.env("RUST_LOG", "warn");
    let filled = Instant::now();
    for n in 1..=total {
        let from = format!("c{n}@cittadini.test");
        let raw = email(
            &from,
            "Pink card",
            "",
            "Buongiorno,\ncome richiedo la pink card per mio figlio?\n\nGrazie\n-- \nUn cittadino",
        );
        office.mail.submit(&from, OFFICE, &raw).await;
    }
    office.mail.wait_mail(OFFICE, total).await;
    eprintln!(
        "{total} mails delivered to the office's mailbox in {:.1}s",
        filled.elapsed().as_secs_f64()
    );
    office.start().await;
    let started = Instant::now();
    let replies = "select count(*) from outbox where channel = 'email'";
    let store = office.store().await;
    loop {
        let n: i64 = sqlx::query_scalar(replies)
            .fetch_one(store.pool())
            .await
            .unwrap();
        if n >= total as i64 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "stalled at {n}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "email backlog: {total} mails through IMAP to committed replies in {secs:.2}s = {:.0} mails/s (SQLite)",
        total as f64 / secs
    );
    office.stop();
}
