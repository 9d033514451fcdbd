//! The store on both backends: outbox claiming, operators' actions, users, tokens, sheets.

use std::collections::HashSet;

use sportello_core::model::{Action, ConversationStatus, Role};
use sportello_core::testing::{TestDb, pipeline, text};
use sportello_core::{Error, Refusal};
use sportello_faq::SheetStatus;

#[tokio::test]
async fn migrations_can_run_again_on_a_migrated_store() {
    for db in TestDb::both().await {
        let store = db.store().await;
        store.migrate().await.unwrap();
        store.ping().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_never_get_the_same_outbox_row() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        for i in 0..120 {
            intake
                .receive(text(&format!("m{i}"), &format!("citizen{i}"), "ciao"))
                .await
                .unwrap();
        }
        let channels = vec!["mem".to_string()];
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let (store, channels) = (store.clone(), channels.clone());
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let rows = store.claim_outbox(&channels, 7, 60_000).await.unwrap();
                    if rows.is_empty() {
                        return mine;
                    }
                    mine.extend(rows.into_iter().map(|r| r.id));
                }
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let unique: HashSet<i64> = all.iter().copied().collect();
        assert_eq!(all.len(), 120, "every row claimed once on {}", db.backend);
        assert_eq!(unique.len(), 120, "no row claimed twice on {}", db.backend);
    }
}

#[tokio::test]
async fn the_outbox_hands_out_one_row_per_conversation_in_order() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        intake.receive(text("1", "anna", "ciao")).await.unwrap();
        intake.receive(text("2", "anna", "grazie")).await.unwrap();
        let channels = vec!["mem".to_string()];
        let first = store.claim_outbox(&channels, 10, 60_000).await.unwrap();
        assert_eq!(first.len(), 1, "{}", db.backend);
        assert!(
            store
                .claim_outbox(&channels, 10, 60_000)
                .await
                .unwrap()
                .is_empty(),
            "the second waits for the first"
        );
        assert!(
            store
                .outbox_sent(first[0].id, first[0].lease, Some("p1"))
                .await
                .unwrap()
        );
        let second = store.claim_outbox(&channels, 10, 60_000).await.unwrap();
        assert_eq!(second.len(), 1);
        assert!(second[0].id > first[0].id);
    }
}

#[tokio::test]
async fn a_row_whose_worker_died_is_claimed_again_after_its_lease() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        intake.receive(text("1", "bea", "ciao")).await.unwrap();
        let channels = vec!["mem".to_string()];
        let claimed = store.claim_outbox(&channels, 10, 0).await.unwrap();
        assert_eq!(claimed.len(), 1);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        // The worker that claimed it, still recording, does not take its own row back.
        assert!(
            store
                .claim_outbox_except(&channels, 10, 60_000, &[claimed[0].id])
                .await
                .unwrap()
                .is_empty(),
            "{}",
            db.backend
        );
        let again = store.claim_outbox(&channels, 10, 60_000).await.unwrap();
        assert_eq!(
            again.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![claimed[0].id],
            "{}",
            db.backend
        );
        assert_eq!(again[0].attempt, 2);
        assert!(
            again[0].lease > claimed[0].lease,
            "a new claim, a new lease"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_one_of_several_operators_claims_a_conversation() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        intake
            .receive(text("1", "carlo", "operatore"))
            .await
            .unwrap();
        let conv = store
            .conversations(Some(ConversationStatus::Queued), 10)
            .await
            .unwrap()[0]
            .id;
        let mut tasks = Vec::new();
        for i in 0..8 {
            let store = store.clone();
            let user = store
                .add_user(&format!("op{i}"), Role::Operator, "password-123")
                .await
                .unwrap();
            tasks.push(tokio::spawn(async move {
                store.claim(conv, user, &format!("op{i}")).await
            }));
        }
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => ok += 1,
                Err(Error::Refused(Refusal::NotWaiting {
                    status: ConversationStatus::Assigned,
                    holder: Some(holder),
                    ..
                })) => assert!(holder.starts_with("op"), "{holder}"),
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!(ok, 1, "{}", db.backend);
        let c = store.conversation(conv).await.unwrap();
        assert_eq!(c.status, ConversationStatus::Assigned);
        assert!(c.assignee.is_some());
    }
}

#[tokio::test]
async fn an_operator_reply_is_queued_for_the_citizens_channel_and_timed() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        intake
            .receive(text("1", "dino", "operatore"))
            .await
            .unwrap();
        let conv = store
            .conversations(Some(ConversationStatus::Queued), 10)
            .await
            .unwrap()[0]
            .id;
        let op = store
            .add_user("mario", Role::Operator, "password-123")
            .await
            .unwrap();
        let other = store
            .add_user("luigi", Role::Operator, "password-123")
            .await
            .unwrap();
        assert!(
            matches!(
                intake.operator_reply(conv, op, "mario", "Eccomi").await,
                Err(Error::Refused(Refusal::NotAssignedTo { .. }))
            ),
            "must claim first"
        );
        store.claim(conv, op, "mario").await.unwrap();
        assert!(matches!(
            intake.operator_reply(conv, other, "luigi", "Io").await,
            Err(Error::Refused(Refusal::NotAssignedTo { .. }))
        ));
        assert!(matches!(
            intake.operator_reply(conv, op, "mario", "   ").await,
            Err(Error::Refused(Refusal::EmptyReply))
        ));
        intake
            .operator_reply(conv, op, "mario", "Buongiorno, la aiuto io.")
            .await
            .unwrap();
        let rows = store.outbox_of(conv).await.unwrap();
        let last = rows.last().unwrap();
        assert_eq!(
            (last.channel.as_str(), last.text.as_str()),
            ("mem", "Buongiorno, la aiuto io."),
            "{}",
            db.backend
        );
        let msgs = store.messages(conv).await.unwrap();
        assert_eq!(msgs.last().unwrap().operator.as_deref(), Some("mario"));
        assert!(
            store
                .conversation(conv)
                .await
                .unwrap()
                .first_response_at
                .is_some()
        );
    }
}

#[tokio::test]
async fn transfer_tags_the_office_and_rejects_unknown_ones() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        intake.receive(text("1", "elsa", "ciao")).await.unwrap();
        let conv = store.conversations(None, 10).await.unwrap()[0].id;
        assert!(matches!(
            store.transfer(conv, "nowhere", "op").await,
            Err(Error::Refused(Refusal::UnknownOffice(_)))
        ));
        store.transfer(conv, "urp", "op").await.unwrap();
        let c = store.conversation(conv).await.unwrap();
        assert_eq!(
            (c.office.as_deref(), c.status),
            (Some("urp"), ConversationStatus::Queued),
            "{}",
            db.backend
        );
    }
}

#[tokio::test]
async fn passwords_and_tokens_are_verified_against_their_hashes() {
    for db in TestDb::both().await {
        let store = db.store().await;
        store
            .add_user("ada", Role::Editor, "correct horse")
            .await
            .unwrap();
        assert!(matches!(
            store.add_user("ada", Role::Admin, "another one").await,
            Err(Error::Refused(Refusal::UserExists(_)))
        ));
        assert!(matches!(
            store.add_user("bo", Role::Admin, "short").await,
            Err(Error::Refused(Refusal::PasswordTooShort))
        ));
        let user = store
            .verify_password("ada", "correct horse")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.role, Role::Editor, "{}", db.backend);
        assert!(
            store
                .verify_password("ada", "wrong horse")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .verify_password("nobody", "correct horse")
                .await
                .unwrap()
                .is_none()
        );

        let token = store.create_token("crm", Role::Operator).await.unwrap();
        let p = store.verify_token(&token).await.unwrap().unwrap();
        assert_eq!((p.name.as_str(), p.role), ("crm", Role::Operator));
        assert!(store.verify_token("spt_forged").await.unwrap().is_none());
        let stored: Vec<String> = sqlx::query_scalar("select token_hash from api_tokens")
            .fetch_all(store.pool())
            .await
            .unwrap();
        assert!(
            !stored.iter().any(|h| h == &token),
            "the token itself is never stored"
        );
        assert_eq!(store.revoke_tokens("crm").await.unwrap(), 1);
        assert!(store.verify_token(&token).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn sheets_are_saved_as_revisions_and_drafts_are_not_published() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let mut sheets = sportello_core::testing::sheets();
        assert_eq!(store.save_sheets(&sheets, "import").await.unwrap(), 3);
        assert_eq!(
            store.save_sheets(&sheets, "import").await.unwrap(),
            0,
            "unchanged sheets are not saved again"
        );
        sheets[0].summary = "Nuovo testo.".into();
        sheets[1].status = SheetStatus::Draft;
        assert_eq!(store.save_sheets(&sheets[..2], "editor").await.unwrap(), 2);
        let all = store.sheets().await.unwrap();
        let pink = all.iter().find(|s| s.sheet.id == "pink-card").unwrap();
        assert_eq!(
            (pink.revision, pink.updated_by.as_deref()),
            (2, Some("editor")),
            "{}",
            db.backend
        );
        assert_eq!(pink.sheet.summary, "Nuovo testo.");
        let published: Vec<String> = store
            .published_sheets()
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(
            published,
            vec!["pink-card".to_string(), "reclami".to_string()]
        );
        let revisions: i64 = sqlx::query_scalar("select count(*) from sheet_revisions")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(revisions, 5);
    }
}

#[tokio::test]
async fn a_failed_delivery_marks_the_contact_unreachable_and_can_be_retried() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        let mut m = text("1", "franco", "x");
        m.action = Action::ChooseSheet("pink-card".into());
        intake.receive(m).await.unwrap();
        let row = store
            .claim_outbox(&["mem".to_string()], 1, 60_000)
            .await
            .unwrap()
            .remove(0);
        store
            .outbox_failed(
                row.id,
                Some(row.lease),
                "Forbidden: bot was blocked by the user",
                true,
            )
            .await
            .unwrap();
        let stats = store.outbox_stats().await.unwrap();
        assert_eq!((stats.failed, stats.backlog), (1, 0), "{}", db.backend);
        let c = store.conversation(row.conversation_id).await.unwrap();
        assert!(c.unreachable);
        let failures = store.outbox_failures(10).await.unwrap();
        assert_eq!(
            failures[0].last_error.as_deref(),
            Some("Forbidden: bot was blocked by the user")
        );
        assert!(store.outbox_requeue(row.id).await.unwrap());
        assert_eq!(store.outbox_stats().await.unwrap().backlog, 1);
    }
}

#[tokio::test]
async fn only_one_instance_holds_a_channels_poller_lock_on_postgres() {
    let db = TestDb::postgres().await;
    let first = db.store().await;
    let second = db.store().await;
    let held = first.channel_lock("telegram").await.unwrap();
    assert!(held.is_some());
    assert!(
        second.channel_lock("telegram").await.unwrap().is_none(),
        "a second instance must not poll at the same time"
    );
    assert!(
        second.channel_lock("x").await.unwrap().is_some(),
        "other channels have their own lock"
    );
    drop(held);
    let mut taken = None;
    for _ in 0..50 {
        taken = second.channel_lock("telegram").await.unwrap();
        if taken.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(taken.is_some(), "released when the holder lets go");
}

/// The fencing of defect 1: a worker stalled beyond its lease (SIGSTOP, a slow platform)
/// comes back with its result after another worker claimed the row. None of its outcomes may
/// overwrite the row: not "sent", not "retry later" (which would send it a third time), not
/// "failed", and not the progress of a split message.
#[tokio::test]
async fn a_worker_that_outlived_its_lease_cannot_record_anything() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let (intake, _) = pipeline(&store).await;
        intake.receive(text("1", "carla", "ciao")).await.unwrap();
        let channels = vec!["mem".to_string()];
        let stale = store
            .claim_outbox(&channels, 10, 0)
            .await
            .unwrap()
            .remove(0);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let current = store
            .claim_outbox(&channels, 10, 60_000)
            .await
            .unwrap()
            .remove(0);
        assert_eq!(current.id, stale.id);

        let b = db.backend;
        assert!(
            !store
                .outbox_parts_sent(stale.id, stale.lease, 1)
                .await
                .unwrap(),
            "{b}"
        );
        assert!(
            !store
                .outbox_retry(stale.id, stale.lease, 0, "late 5xx")
                .await
                .unwrap(),
            "{b}"
        );
        assert!(
            !store
                .outbox_failed(stale.id, Some(stale.lease), "late", false)
                .await
                .unwrap(),
            "{b}"
        );
        assert!(
            !store
                .outbox_sent(stale.id, stale.lease, Some("late"))
                .await
                .unwrap(),
            "{b}"
        );
        let row = &store.outbox_of(current.conversation_id).await.unwrap()[0];
        assert_eq!(
            (row.state.as_str(), row.last_error.as_deref()),
            ("sending", None),
            "{b}"
        );

        // The current holder records; a late "transient" after that cannot put it back.
        assert!(
            store
                .outbox_parts_sent(current.id, current.lease, 1)
                .await
                .unwrap()
        );
        assert!(
            store
                .outbox_sent(current.id, current.lease, Some("p1"))
                .await
                .unwrap()
        );
        assert!(
            !store
                .outbox_retry(stale.id, stale.lease, 0, "late 5xx")
                .await
                .unwrap()
        );
        assert!(
            !store
                .outbox_retry(current.id, current.lease, 0, "twice")
                .await
                .unwrap()
        );
        let row = &store.outbox_of(current.conversation_id).await.unwrap()[0];
        assert_eq!(row.state, "sent", "{b}");
        assert!(
            store
                .claim_outbox(&channels, 10, 60_000)
                .await
                .unwrap()
                .is_empty(),
            "{b}"
        );
    }
}

#[tokio::test]
async fn a_poller_lock_that_dies_with_its_connection_is_found_lost_on_postgres() {
    use sqlx::Connection;
    let db = TestDb::postgres().await;
    let first = db.store().await;
    let second = db.store().await;
    let held = first.channel_lock("telegram").await.unwrap().unwrap();
    assert!(held.is_held().await);
    assert!(held.grace() > std::time::Duration::ZERO);
    // What a PostgreSQL restart does to the holder: its session ends, and the lock with it.
    let mut admin = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' \
         and database = (select oid from pg_database where datname = current_database())",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(ended, vec![true], "one session held the lock");
    // Noticed by the lock's own checks, without anyone asking.
    tokio::time::timeout(std::time::Duration::from_secs(20), held.lost())
        .await
        .expect("the holder notices that its lock is gone");
    assert!(!held.is_held().await);
    let taken = second.channel_lock("telegram").await.unwrap();
    assert!(taken.is_some(), "another instance can take it over");
    assert!(
        first.channel_lock("telegram").await.unwrap().is_none(),
        "and the former holder knows it is taken"
    );
}

#[tokio::test]
async fn the_poller_lock_on_sqlite_is_always_held() {
    let db = TestDb::sqlite();
    let store = db.store().await;
    let lock = store.channel_lock("telegram").await.unwrap().unwrap();
    assert!(lock.is_held().await);
    assert_eq!(lock.grace(), std::time::Duration::ZERO);
}
