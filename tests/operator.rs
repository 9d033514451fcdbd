//! The operator's side of issue 17 over HTTP against a real `sportello serve`: queue views and
//! search, routing to offices, feedback in view and in `/stats`, "Insegna al bot" and the
//! editors' learning page. The browser-driven checks are in `browser_operator.rs`.

use sportello_core::model::{Action, Inbound, Role};
use sportello_testkit::{PASSWORD, TestApp};

/// A citizen presses a button (or writes) on Telegram in `thread`.
async fn citizen_acts(app: &TestApp, thread: &str, text: &str, action: Action) {
    let mut inbound = Inbound::text(
        "telegram",
        format!("p-{}", sportello_testkit::unique()),
        thread,
        thread,
        text,
    );
    inbound.action = action;
    app.running().intake().receive(inbound).await.unwrap();
}

async fn the_queue_has_three_views_with_counts_and_finds_by_reference_citizen_and_text(
    app: &TestApp,
) {
    let mario = app.add_user("mario", Role::Operator).await;
    app.add_user("lucia", Role::Operator).await;
    app.store
        .set_user_offices(mario, &["urp".to_string()], "admin")
        .await
        .unwrap();
    let mine = app
        .queue_conversation("telegram", "Anna Rossi", "Vorrei un operatore", None)
        .await;
    let other = app
        .queue_conversation("email", "Bruno Verdi", "Parla con un operatore", None)
        .await;
    // A question the bot matched to a sheet of the roads office, which needs an operator.
    let roads = app
        .citizen_writes(
            "telegram",
            "carla",
            "Come segnalo una buca su una strada provinciale?",
            vec![],
        )
        .await;
    let m = app.login("mario", PASSWORD).await;
    assert_eq!(
        m.post_form(&format!("/queue/{mine}/claim"), &[])
            .await
            .status(),
        303
    );

    let all = m.get("/queue").await.text().await.unwrap();
    assert!(
        all.contains("Tutte <span class=\"badge\">3</span>"),
        "{all}"
    );
    assert!(all.contains("Mie <span class=\"badge\">1</span>"), "{all}");
    // Mario belongs to the URP: the roads office's conversation is not his to pick up.
    assert!(
        all.contains("Da assegnare <span class=\"badge\">1</span>"),
        "{all}"
    );
    // The row of the roads conversation: its first question, why, and the sheet's office.
    let row = row_of(&all, roads);
    assert!(row.contains("Come segnalo una buca"), "{row}");
    assert!(
        row.contains("Motivo: la scheda richiede un operatore"),
        "{row}"
    );
    assert!(row.contains("Settore Strade e Viabilità"), "{row}");
    assert!(row.contains("in orario d&#39;ufficio") || row.contains("in orario d'ufficio"));
    assert!(row_of(&all, other).contains("Motivo: chiesto un operatore"));

    let mine_view = m.get("/queue?view=mine").await.text().await.unwrap();
    assert!(mine_view.contains(&format!("conversation-{mine}\"")));
    assert!(!mine_view.contains(&format!("conversation-{other}\"")));
    let unassigned = m.get("/queue?view=unassigned").await.text().await.unwrap();
    assert!(unassigned.contains(&format!("conversation-{other}\"")));
    assert!(!unassigned.contains(&format!("conversation-{roads}\"")));
    assert!(!unassigned.contains(&format!("conversation-{mine}\"")));

    for (query, found) in [
        (format!("n.%20{roads}"), roads),
        ("bruno".to_string(), other),
        ("buca".to_string(), roads),
    ] {
        let page = m
            .get(&format!("/queue?q={query}"))
            .await
            .text()
            .await
            .unwrap();
        let rows: Vec<i64> = [mine, other, roads]
            .into_iter()
            .filter(|id| page.contains(&format!("id=\"conversation-{id}\"")))
            .collect();
        assert_eq!(rows, vec![found], "search {query:?}");
    }
    let found: serde_json::Value = m
        .get("/api/v1/conversations?q=bruno")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["conversations"].as_array().unwrap().len(), 1);
    assert_eq!(found["conversations"][0]["id"], other);
    // "Next in queue" opens the oldest conversation waiting in Mario's offices.
    let next = m.get("/queue/next").await;
    assert_eq!(next.status(), 303);
    assert_eq!(
        next.headers()["location"],
        format!("/conversations/{other}")
    );
}

/// The `<tr>` of conversation `id` in a queue page.
fn row_of(page: &str, id: i64) -> String {
    let start = page
        .find(&format!("id=\"conversation-{id}\""))
        .unwrap_or_else(|| panic!("no row for {id}"));
    let end = page[start..].find("</tr>").unwrap() + start;
    page[start..end].to_string()
}

#[tokio::test]
async fn the_queue_has_three_views_with_counts_and_finds_by_reference_citizen_and_text_on_sqlite() {
    the_queue_has_three_views_with_counts_and_finds_by_reference_citizen_and_text(
        &TestApp::sqlite().await,
    )
    .await;
}

#[tokio::test]
async fn the_queue_has_three_views_with_counts_and_finds_by_reference_citizen_and_text_on_postgres()
{
    the_queue_has_three_views_with_counts_and_finds_by_reference_citizen_and_text(
        &TestApp::postgres().await,
    )
    .await;
}

async fn a_transfer_with_email_running_sends_the_office_one_email(app: &TestApp, mut smtp: Smtp) {
    app.add_user("mario", Role::Operator).await;
    let id = app
        .queue_conversation("telegram", "Anna", "Parla con un operatore", None)
        .await;
    let m = app.login("mario", PASSWORD).await;
    m.post_form(&format!("/queue/{id}/claim"), &[]).await;
    // Without a choice, nothing moves: the office list has no default.
    let unchosen = m
        .post_form(&format!("/conversations/{id}/transfer"), &[("office", "")])
        .await;
    assert_eq!(unchosen.status(), 422);
    assert!(unchosen.text().await.unwrap().contains("Scegli l"));
    let page = m
        .get(&format!("/conversations/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<option value=\"\" selected disabled>"),
        "{page}"
    );

    let moved = m
        .post_form(
            &format!("/conversations/{id}/transfer"),
            &[("office", "viabilita")],
        )
        .await;
    assert_eq!(moved.status(), 303);
    assert_eq!(
        moved.headers()["location"],
        format!("/conversations/{id}?done=transfer#transfer-title")
    );
    let c = app.store.conversation(id).await.unwrap();
    assert_eq!(c.status.as_str(), "queued");
    assert_eq!(c.assignee, None);
    assert_eq!(c.office.as_deref(), Some("viabilita"));
    let mails = app.store.office_notifications(id).await.unwrap();
    assert_eq!(mails.len(), 1);
    assert_eq!(
        mails[0].recipient,
        "strade@cittametropolitana.mi.it.example"
    );
    assert!(mails[0].body.contains("Parla con un operatore"));

    // The email channel sends it to the office, once.
    let (to, data) = tokio::time::timeout(WAIT, smtp.recv())
        .await
        .expect("the office email reaches the mail server")
        .unwrap();
    assert_eq!(to, "strade@cittametropolitana.mi.it.example");
    assert!(data.contains(&format!("Conversazione n. {id}")), "{data}");
    let deadline = std::time::Instant::now() + WAIT;
    while app.store.office_notifications(id).await.unwrap()[0].state != "sent" {
        assert!(
            std::time::Instant::now() < deadline,
            "the email is never marked sent"
        );
        tokio::task::yield_now().await;
    }
    assert!(
        app.store
            .lease_office_notification()
            .await
            .unwrap()
            .is_none()
    );
    assert!(smtp.try_recv().is_err(), "sent twice");
    let page = m
        .get(&format!("/conversations/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("inviata"), "{page}");
}

/// How long a test waits for something that should happen at once.
const WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// A mail server that accepts every message and reports (recipient, data) of each.
async fn fake_smtp() -> (u16, tokio::sync::mpsc::UnboundedReceiver<(String, String)>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 fake ESMTP\r\n").await;
                let (mut to, mut data, mut in_data) = (String::new(), String::new(), false);
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            let _ = tx.send((to.clone(), std::mem::take(&mut data)));
                            let _ = write.write_all(b"250 queued\r\n").await;
                        } else {
                            data.push_str(&line);
                            data.push('\n');
                        }
                        continue;
                    }
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-fake\r\n250 8BITMIME\r\n",
                        "RCPT" => {
                            to = line
                                .split(['<', '>'])
                                .nth(1)
                                .unwrap_or_default()
                                .to_string();
                            b"250 ok\r\n"
                        }
                        "DATA" => {
                            in_data = true;
                            b"354 go on\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    let _ = write.write_all(answer).await;
                }
            });
        }
    });
    (port, rx)
}

/// The email channel on, sending to `smtp_port`; its mailbox (an address nobody answers)
/// stays unread, which only makes the channel retry its IMAP session.
fn with_email(smtp_port: &str) -> Vec<(&'static str, String)> {
    vec![
        ("SPORTELLO_EMAIL__ENABLED", "true".into()),
        ("SPORTELLO_EMAIL__IMAP_HOST", "127.0.0.1".into()),
        ("SPORTELLO_EMAIL__IMAP_PORT", "1".into()),
        ("SPORTELLO_EMAIL__IMAP_TLS", "none".into()),
        ("SPORTELLO_EMAIL__SMTP_HOST", "127.0.0.1".into()),
        ("SPORTELLO_EMAIL__SMTP_PORT", smtp_port.into()),
        ("SPORTELLO_EMAIL__SMTP_TLS", "none".into()),
        ("SPORTELLO_EMAIL__USERNAME", "urp".into()),
        ("SPORTELLO_EMAIL__ADDRESS", "urp@example.org".into()),
        ("SPORTELLO_EMAIL__PASSWORD", "secret".into()),
    ]
}

async fn app_with_email(db: sportello_core::testing::TestDb) -> (TestApp, Smtp) {
    let (port, smtp) = fake_smtp().await;
    let settings = with_email(&port.to_string());
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    (TestApp::start(db, &settings).await, smtp)
}

type Smtp = tokio::sync::mpsc::UnboundedReceiver<(String, String)>;

#[tokio::test]
async fn a_transfer_with_email_running_sends_the_office_one_email_on_sqlite() {
    let (app, smtp) = app_with_email(sportello_core::testing::TestDb::sqlite()).await;
    a_transfer_with_email_running_sends_the_office_one_email(&app, smtp).await;
}

#[tokio::test]
async fn a_transfer_with_email_running_sends_the_office_one_email_on_postgres() {
    let (app, smtp) = app_with_email(sportello_core::testing::TestDb::postgres().await).await;
    a_transfer_with_email_running_sends_the_office_one_email(&app, smtp).await;
}

async fn the_citizens_judgements_show_in_the_conversation_and_per_operator_and_office(
    app: &TestApp,
) {
    app.add_user("mario", Role::Operator).await;
    let thread = "giudizi";
    let id = app
        .citizen_writes("telegram", thread, "orari urp", vec![])
        .await;
    let asked = app.store.messages(id).await.unwrap()[0].id;
    citizen_acts(
        app,
        thread,
        "👍",
        Action::Feedback {
            message: asked,
            useful: true,
        },
    )
    .await;
    citizen_acts(
        app,
        thread,
        "Parla con un operatore",
        Action::RequestOperator,
    )
    .await;
    let m = app.login("mario", PASSWORD).await;
    m.post_form(&format!("/queue/{id}/claim"), &[]).await;
    m.post_form(&format!("/conversations/{id}/resolve"), &[])
        .await;
    citizen_acts(
        app,
        thread,
        "4",
        Action::Rate {
            conversation: id,
            score: 4,
        },
    )
    .await;

    let page = m
        .get(&format!("/conversations/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Il cittadino ha trovato utile la risposta"),
        "{page}"
    );
    assert!(page.contains("4 stelle su 5"), "{page}");
    assert!(page.contains("risolta"));
    for code in [
        "with_operator",
        "person_requested",
        ">resolved",
        "(matched)",
    ] {
        assert!(!page.contains(code), "{code} shows on the page");
    }

    let admin = app.admin().await;
    let stats = admin.get("/stats").await.text().await.unwrap();
    let by_operator = &stats[stats.find("id=\"by-operator\"").expect("per operator")..];
    let by_operator = &by_operator[..by_operator.find("</table>").unwrap()];
    assert!(by_operator.contains("mario"), "{by_operator}");
    assert!(by_operator.contains("4,00"), "{by_operator}");
    let by_office = &stats[stats.find("id=\"by-office\"").expect("per office")..];
    let by_office = &by_office[..by_office.find("</table>").unwrap()];
    // "orari urp" is the URP's own sheet: the person asked for after it is the URP's.
    assert!(
        by_office.contains("URP - Ufficio Relazioni con il Pubblico"),
        "{by_office}"
    );
    let api: serde_json::Value = admin.get("/api/v1/stats").await.json().await.unwrap();
    assert_eq!(api["by_operator"][0]["key"], "mario");
    assert_eq!(api["by_operator"][0]["ratings"], 1);
    assert_eq!(api["by_operator"][0]["useful"], 1);
}

#[tokio::test]
async fn the_citizens_judgements_show_in_the_conversation_and_per_operator_and_office_on_sqlite() {
    the_citizens_judgements_show_in_the_conversation_and_per_operator_and_office(
        &TestApp::sqlite().await,
    )
    .await;
}

#[tokio::test]
async fn the_citizens_judgements_show_in_the_conversation_and_per_operator_and_office_on_postgres()
{
    the_citizens_judgements_show_in_the_conversation_and_per_operator_and_office(
        &TestApp::postgres().await,
    )
    .await;
}

#[tokio::test]
async fn teaching_defaults_to_the_question_behind_the_handoff_and_the_bots_best_sheet_and_takes_edits()
 {
    let app = TestApp::sqlite().await;
    app.add_user("mario", Role::Operator).await;
    let thread = "insegna";
    let id = app
        .citizen_writes("telegram", thread, "buongiorno", vec![])
        .await;
    app.citizen_writes("telegram", thread, "orari urp", vec![])
        .await;
    citizen_acts(
        &app,
        thread,
        "Parla con un operatore",
        Action::RequestOperator,
    )
    .await;
    let m = app.login("mario", PASSWORD).await;
    m.post_form(&format!("/queue/{id}/claim"), &[]).await;
    let page = m
        .get(&format!("/conversations/{id}"))
        .await
        .text()
        .await
        .unwrap();
    let teach = &page[page.find("id=\"teach-title\"").unwrap()..];
    let teach = &teach[..teach.find("</section>").unwrap()];
    // The question, never the request for a person nor the greeting.
    assert!(teach.contains("selected>orari urp</option>"), "{teach}");
    assert!(!teach.contains("Parla con un operatore"), "{teach}");
    assert!(!teach.contains(">buongiorno<"), "{teach}");
    assert!(teach.contains(">orari urp</textarea>"), "{teach}");
    let best = app.store.messages(id).await.unwrap()[2]
        .candidates
        .as_ref()
        .and_then(|c| c[0]["sheet_id"].as_str().map(str::to_string))
        .expect("the bot matched a sheet");
    assert!(
        teach.contains(&format!("<option value=\"{best}\" selected>")),
        "{teach}"
    );

    let message = app.store.messages(id).await.unwrap()[2].id.to_string();
    let sent = m
        .post_form(
            &format!("/conversations/{id}/teach"),
            &[
                ("message", &message),
                ("phrasing", "a che ora apre l'URP"),
                ("sheet", &best),
            ],
        )
        .await;
    assert_eq!(sent.status(), 303);
    assert_eq!(
        sent.headers()["location"],
        format!("/conversations/{id}?done=teach#teach-title")
    );
    let proposed = app.store.proposed_phrasings(id).await.unwrap();
    assert_eq!(proposed[0].text, "a che ora apre l'URP");
    assert_eq!(proposed[0].sheet_id, best);
}

#[tokio::test]
async fn editors_edit_a_proposed_phrasing_dismiss_a_question_or_refer_it_elsewhere_on_sqlite() {
    editors_edit_a_proposed_phrasing_dismiss_a_question_or_refer_it_elsewhere(
        &TestApp::sqlite().await,
    )
    .await;
}

#[tokio::test]
async fn editors_edit_a_proposed_phrasing_dismiss_a_question_or_refer_it_elsewhere_on_postgres() {
    editors_edit_a_proposed_phrasing_dismiss_a_question_or_refer_it_elsewhere(
        &TestApp::postgres().await,
    )
    .await;
}

async fn editors_edit_a_proposed_phrasing_dismiss_a_question_or_refer_it_elsewhere(app: &TestApp) {
    app.add_user("mario", Role::Operator).await;
    app.add_user("elena", Role::Editor).await;
    let id = app
        .citizen_writes("telegram", "learn", "orari urp", vec![])
        .await;
    let best = app.store.messages(id).await.unwrap()[0]
        .candidates
        .as_ref()
        .and_then(|c| c[0]["sheet_id"].as_str().map(str::to_string))
        .unwrap();
    let phrasing = app
        .store
        .propose_phrasing(&best, "orari urp sabato", id, None, "mario")
        .await
        .unwrap();
    for text in [
        "quando passa il camion della spazzatura",
        "vorrei adottare un gatto",
    ] {
        app.citizen_writes("telegram", &format!("q-{}", text.len()), text, vec![])
            .await;
    }
    let e = app.login("elena", PASSWORD).await;
    let page = e.get("/sheets/learn").await.text().await.unwrap();
    assert!(page.contains("camion della spazzatura"), "{page}");
    assert!(page.contains("adottare un gatto"), "{page}");

    // The editor changes the words before approving.
    let approved = e
        .post_form(
            &format!("/sheets/learn/phrasings/{phrasing}/approve"),
            &[("text", "orari dell'URP il sabato")],
        )
        .await;
    assert_eq!(approved.status(), 303);
    let sheet = app
        .store
        .sheets()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.sheet.id == best)
        .unwrap();
    assert!(
        sheet
            .sheet
            .questions
            .iter()
            .any(|q| q == "orari dell'URP il sabato"),
        "{:?}",
        sheet.sheet.questions
    );

    let dismissed = e
        .post_form(
            "/sheets/learn/verdict",
            &[
                ("question", "vorrei adottare un gatto"),
                ("verdict", "dismissed"),
            ],
        )
        .await;
    assert_eq!(dismissed.status(), 303);
    let referred = e
        .post_form(
            "/sheets/learn/verdict",
            &[
                ("question", "quando passa il camion della spazzatura"),
                ("verdict", "not_ours"),
                (
                    "referral",
                    "Per la raccolta rifiuti rivolgiti al Comune di residenza.",
                ),
            ],
        )
        .await;
    assert_eq!(referred.status(), 303);
    let page = e.get("/sheets/learn").await.text().await.unwrap();
    let open = &page[page.find("id=\"unanswered\"").unwrap()..];
    let open = &open[..open.find("</ol>").unwrap()];
    assert!(!open.contains("adottare un gatto"), "{open}");
    assert!(!open.contains("camion della spazzatura"), "{open}");
    assert!(page.contains("Per la raccolta rifiuti rivolgiti al Comune"));

    // Citizens who ask it again read the referral.
    let again = app
        .citizen_writes(
            "telegram",
            "again",
            "quando passa il camion della spazzatura",
            vec![],
        )
        .await;
    let outbox = app.store.outbox_of(again).await.unwrap();
    assert!(
        outbox.iter().any(|o| o
            .text
            .contains("Per la raccolta rifiuti rivolgiti al Comune")),
        "{outbox:?}"
    );
}

#[tokio::test]
async fn without_javascript_inserting_a_canned_reply_keeps_the_text_typed_so_far() {
    let app = TestApp::sqlite().await;
    app.add_user("mario", Role::Operator).await;
    let id = app
        .queue_conversation("telegram", "Anna Rossi", "Parla con un operatore", None)
        .await;
    let m = app.login("mario", PASSWORD).await;
    m.post_form(&format!("/queue/{id}/claim"), &[]).await;
    let page = m
        .post_form(
            &format!("/conversations/{id}/insert"),
            &[
                ("text", "Gentile signora,"),
                ("kind", "canned"),
                ("canned", "0"),
                ("insert", "urp-orari"),
            ],
        )
        .await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    let start = page.find("id=\"reply-text\"").unwrap();
    let text = &page[start..];
    let text = &text[text.find('>').unwrap() + 1..text.find("</textarea>").unwrap()];
    assert!(
        text.starts_with("Gentile signora,\n\nBuongiorno Anna Rossi,"),
        "{text}"
    );
    assert!(text.contains(&format!("(rif. {id})")), "{text}");
}
