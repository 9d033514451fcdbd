//! What operators do with email: reply from the console, read the whole text with the
//! quoted part folded, download attachments, and the citizens' 👍/👎 links.

use crate::IN_EMAIL;
use crate::servers::OFFICE;
use crate::support::{self, Office, body, email, header, message_id};
use sportello_testkit::served::Proxy;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_reply_goes_out_as_a_threaded_email_without_auto_submitted() {
    let mut office = Office::new().await;
    office.start().await;
    let who = "luca@cittadini.test";
    let question = email(
        who,
        "Parlare con qualcuno",
        "",
        "vorrei parlare con un operatore",
    );
    office.mail.submit(who, OFFICE, &question).await;
    office.mail.wait_mail(who, 1).await;
    let store = office.store().await;
    let conv = store.conversations(None, 10).await.unwrap()[0].clone();
    let operator = store
        .add_user(
            "giulia",
            sportello_core::model::Role::Operator,
            "pw-giulia-123",
        )
        .await
        .unwrap();
    store.claim(conv.id, operator, "giulia").await.unwrap();
    let desk = support::operator_desk(&office).await;
    desk.operator_reply(
        conv.id,
        operator,
        "giulia",
        "Buongiorno, la richiamo domani.\r\nBcc: x@y",
    )
    .await
    .unwrap();
    let mails = office.mail.wait_mail(who, 2).await;
    let reply = mails.last().unwrap();
    assert_eq!(support::subject(reply), "Re: Parlare con qualcuno");
    assert_eq!(
        header(reply, "In-Reply-To"),
        Some(format!("<{}>", message_id(&question)))
    );
    assert_eq!(header(reply, "Auto-Submitted"), None, "written by a person");
    assert_eq!(header(reply, "Bcc"), None);
    assert!(body(reply).contains("la richiamo domani"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_see_the_folded_quote_and_download_attachments_safely() {
    let mut office = Office::new().await;
    office.start().await;
    let who = "anna@cittadini.test";
    let raw = support::crlf(&format!(
        "From: {who}\nTo: {OFFICE}\nSubject: Modulo\nMessage-ID: <modulo@cittadini.test>\n\
         MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=M\n\n\
         --M\nContent-Type: text/plain\n\nEcco il modulo.\n\n> Citazione di una mail precedente\n\
         --M\nContent-Type: text/html; name=\"../<script>.html\"\n\
         Content-Disposition: attachment; filename=\"../<script>.html\"\n\n\
         <script>alert(1)</script>\n--M--\n"
    ));
    office.mail.submit(who, OFFICE, &raw).await;
    office.wait_count(IN_EMAIL, 1).await;
    let store = office.store().await;
    let conv = store.conversations(None, 10).await.unwrap()[0].clone();
    let (aid,): (i64,) = sqlx::query_as("select id from email_attachments")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let url = format!(
        "{}/conversations/{}/attachments/{aid}",
        office.base, conv.id
    );

    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let denied = anonymous.get(&url).send().await.unwrap();
    assert_ne!(denied.status(), 200, "operators only");

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = client
        .post(format!("{}/login", office.base))
        .form(&[("username", "admin"), ("password", "test-admin-password")])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let page = client
        .get(format!("{}/conversations/{}", office.base, conv.id))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Testo completo"), "the quoted part, folded");
    assert!(page.contains("Citazione di una mail precedente"));
    assert!(
        page.contains(&format!("/attachments/{aid}")),
        "a download link"
    );
    assert!(
        !page.contains("<script>alert"),
        "nothing rendered unescaped"
    );

    let file = client.get(&url).send().await.unwrap();
    assert_eq!(file.status(), 200);
    let headers = file.headers().clone();
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains("filename=\"_script_.html\""),
        "{disposition}"
    );
    assert_eq!(
        file.bytes().await.unwrap().as_ref(),
        b"<script>alert(1)</script>"
    );

    // Not through another conversation.
    let other = format!(
        "{}/conversations/{}/attachments/{aid}",
        office.base,
        conv.id + 1
    );
    assert_eq!(client.get(&other).send().await.unwrap().status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feedback_link_used_twice_is_counted_once() {
    let mut office = Office::new().await;
    // The links point at the office's public address, known before it starts.
    let proxy = Proxy::start().await;
    let base = proxy.base.clone();
    office.env("SPORTELLO_CONSOLE__PUBLIC_URL", &base);
    office.start().await;
    proxy.forward_to(&office.base);
    let who = "c49@cittadini.test";
    let raw = email(who, "Pink card", "", "come richiedo la pink card?");
    office.mail.submit(who, OFFICE, &raw).await;
    let answer = body(&office.mail.wait_mail(who, 1).await[0]);
    let link = |verdict: &str| {
        answer
            .split_whitespace()
            .find(|w| w.starts_with(&base) && w.ends_with(&format!("/{verdict}")))
            .unwrap_or_else(|| panic!("a {verdict} link in {answer}"))
            .to_string()
    };
    let yes = link("si");
    assert!(answer.contains("👍"), "{answer}");
    assert_eq!(
        link("no").replace("/no", "/si"),
        yes,
        "one token, two verdicts"
    );
    let first = reqwest::get(&yes).await.unwrap();
    assert_eq!(first.status(), 200);
    assert!(first.text().await.unwrap().contains("registrato"));
    let second = reqwest::get(&yes).await.unwrap().text().await.unwrap();
    assert!(second.contains("già stato registrato"), "{second}");
    let no = reqwest::get(link("no"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(no.contains("già stato registrato"), "{no}");
    assert_eq!(office.count("select count(*) from feedback").await, 1);
    assert_eq!(
        office
            .count("select count(*) from feedback where kind = 'useful'")
            .await,
        1,
        "the first use counts"
    );
    let forged = format!("{base}/feedback/email/0123456789abcdef0123456789abcdef/si");
    assert_eq!(reqwest::get(&forged).await.unwrap().status(), 404);
}
