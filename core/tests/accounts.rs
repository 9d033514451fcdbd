//! Accounts on both backends: changing and resetting passwords, the name citizens see,
//! two-factor login with TOTP codes and recovery codes.

use sportello_core::model::ConversationStatus;
use sportello_core::model::Role;
use sportello_core::store::totp_code;
use sportello_core::testing::{TestDb, pipeline, text};
use sportello_core::{Error, Refusal};

const DAY: i64 = 86_400_000;

#[tokio::test]
async fn a_user_changes_their_password_only_with_the_current_one_and_other_sessions_end() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let id = store
            .add_user("giulia", Role::Operator, "prima password")
            .await
            .unwrap();
        let here = store.create_session(id, DAY, DAY).await.unwrap();
        let elsewhere = store.create_session(id, DAY, DAY).await.unwrap();

        let wrong = store
            .change_own_password(id, "non è questa", "nuova password", Some(&here.id))
            .await;
        assert!(
            matches!(wrong, Err(Error::Refused(Refusal::WrongPassword))),
            "{wrong:?}"
        );
        let short = store
            .change_own_password(id, "prima password", "corta", Some(&here.id))
            .await;
        assert!(matches!(
            short,
            Err(Error::Refused(Refusal::PasswordTooShort))
        ));

        store
            .change_own_password(id, "prima password", "nuova password", Some(&here.id))
            .await
            .unwrap();
        assert!(
            store
                .verify_password("giulia", "nuova password")
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .verify_password("giulia", "prima password")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store.session(&here.id).await.unwrap().is_some(),
            "{}",
            db.backend
        );
        assert!(
            store.session(&elsewhere.id).await.unwrap().is_none(),
            "{}",
            db.backend
        );
    }
}

#[tokio::test]
async fn a_reset_password_is_temporary_ends_every_session_and_is_audited() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let id = store
            .add_user("mario", Role::Operator, "prima password")
            .await
            .unwrap();
        let session = store.create_session(id, DAY, DAY).await.unwrap();
        let temporary = store.reset_password(id, "admin").await.unwrap();
        assert!(store.session(&session.id).await.unwrap().is_none());
        assert!(
            store
                .verify_password("mario", &temporary)
                .await
                .unwrap()
                .is_some()
        );
        let again = store.create_session(id, DAY, DAY).await.unwrap();
        let row = store.session(&again.id).await.unwrap().unwrap();
        assert!(row.must_change_password, "{}", db.backend);

        store
            .change_own_password(id, &temporary, "scelta da mario", Some(&again.id))
            .await
            .unwrap();
        let row = store.session(&again.id).await.unwrap().unwrap();
        assert!(!row.must_change_password);
        let audit = store.audit_log(10).await.unwrap();
        assert!(audit.iter().any(|e| e.action == "user.password_reset"
            && e.actor == "admin"
            && e.subject == "user:mario"));
        assert!(
            audit
                .iter()
                .any(|e| e.action == "user.password" && e.actor == "mario")
        );

        let unknown = store
            .set_password("nessuno", "una password lunga", false)
            .await;
        assert!(matches!(
            unknown,
            Err(Error::Refused(Refusal::NoUserNamed(_)))
        ));
    }
}

#[tokio::test]
async fn the_name_for_citizens_is_kept_apart_from_the_username_and_can_be_cleared() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let id = store
            .add_user("giulia", Role::Operator, "prima password")
            .await
            .unwrap();
        store
            .set_display_name(id, "  Giulia dell'URP ", "giulia")
            .await
            .unwrap();
        let account = |name: &str| {
            let name = name.to_string();
            let store = store.clone();
            async move {
                store
                    .accounts()
                    .await
                    .unwrap()
                    .into_iter()
                    .find(|a| a.username == name)
                    .unwrap()
            }
        };
        assert_eq!(
            account("giulia").await.display_name.as_deref(),
            Some("Giulia dell'URP")
        );
        store.set_display_name(id, "", "giulia").await.unwrap();
        assert_eq!(account("giulia").await.display_name, None);
        let long = "x".repeat(61);
        assert!(store.set_display_name(id, &long, "giulia").await.is_err());
    }
}

fn now_secs(store: &sportello_core::store::Store) -> u64 {
    (store.now_ms() / 1000) as u64
}

#[tokio::test]
async fn two_factor_login_takes_each_totp_step_once_and_each_recovery_code_once() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let id = store
            .add_user("admin2", Role::Admin, "prima password")
            .await
            .unwrap();
        assert!(!store.two_factor(id).await.unwrap().enabled);
        let secret = store.begin_two_factor(id).await.unwrap();
        assert_eq!(
            store
                .two_factor(id)
                .await
                .unwrap()
                .pending_secret
                .as_deref(),
            Some(secret.as_str())
        );
        let wrong = store.confirm_two_factor(id, "000000x", "admin2").await;
        assert!(matches!(wrong, Err(Error::Refused(Refusal::WrongCode))));
        assert!(!store.two_factor(id).await.unwrap().enabled);

        let code = totp_code(&secret, now_secs(&store)).unwrap();
        let recovery = store.confirm_two_factor(id, &code, "admin2").await.unwrap();
        assert_eq!(recovery.len(), 10);
        let state = store.two_factor(id).await.unwrap();
        assert!(state.enabled && state.pending_secret.is_none());
        assert_eq!(state.recovery_left, 10);

        // The code that confirmed cannot log in again; the next step's code can, once.
        assert!(!store.verify_second_factor(id, &code).await.unwrap());
        let next = totp_code(&secret, now_secs(&store) + 30).unwrap();
        assert!(
            store.verify_second_factor(id, &next).await.unwrap(),
            "{}",
            db.backend
        );
        assert!(!store.verify_second_factor(id, &next).await.unwrap());

        let typed = recovery[3].to_uppercase();
        assert!(store.verify_second_factor(id, &typed).await.unwrap());
        assert!(!store.verify_second_factor(id, &recovery[3]).await.unwrap());
        assert_eq!(store.two_factor(id).await.unwrap().recovery_left, 9);

        store.disable_two_factor(id, "admin").await.unwrap();
        let state = store.two_factor(id).await.unwrap();
        assert!(!state.enabled && state.recovery_left == 0);
        assert!(!store.verify_second_factor(id, &recovery[4]).await.unwrap());
    }
}

#[tokio::test]
async fn a_session_waiting_for_the_second_factor_says_so() {
    for db in TestDb::both().await {
        let store = db.store().await;
        let id = store
            .add_user("admin3", Role::Admin, "prima password")
            .await
            .unwrap();
        let pending = store.create_pending_session(id, 300_000).await.unwrap();
        let full = store.create_session(id, DAY, DAY).await.unwrap();
        assert!(
            store
                .session(&pending.id)
                .await
                .unwrap()
                .unwrap()
                .second_factor_pending
        );
        assert!(
            !store
                .session(&full.id)
                .await
                .unwrap()
                .unwrap()
                .second_factor_pending
        );
    }
}

#[tokio::test]
async fn the_citizen_sees_an_operators_reply_signed_with_the_name_chosen_for_citizens() {
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
        let giulia = store
            .add_user("giulia", Role::Operator, "password-123")
            .await
            .unwrap();
        store.claim(conv, giulia, "giulia").await.unwrap();
        intake
            .operator_reply(conv, giulia, "giulia", "Prima risposta")
            .await
            .unwrap();
        let last = store.transcript("mem", "dino", 10).await.unwrap();
        assert_eq!(last.last().unwrap().signature, None, "no name chosen yet");
        store
            .set_display_name(giulia, "Giulia dell'URP", "giulia")
            .await
            .unwrap();
        let entries = store.transcript("mem", "dino", 10).await.unwrap();
        let reply = entries.last().unwrap();
        assert_eq!(reply.author, "operator");
        assert_eq!(
            reply.signature.as_deref(),
            Some("Giulia dell'URP"),
            "{}",
            db.backend
        );
        assert!(
            entries
                .iter()
                .filter(|e| e.author != "operator")
                .all(|e| e.signature.is_none())
        );
    }
}
