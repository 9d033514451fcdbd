//! The receiving loop: mentions, then DMs, every `x.poll_secs`, never faster than the
//! rate-limit windows allow; a 429 waits for the window's reset, not a fixed time.

use std::sync::Arc;
use std::time::Duration;

use sportello_core::channel::ChannelError;
use sportello_core::config::XAuth;
use sportello_core::intake::Intake;
use sportello_core::model::{Action, Inbound};
use sportello_core::store::ChannelLock;
use tokio_util::sync::CancellationToken;

use super::api::{DmEvent, Page, Tweet, User, id_newer};
use super::client::{ApiError, unix_now, wait_for};
use super::cursor::Cursor;
use super::oauth2::AuthError;
use super::read::{self, Verdict};
use super::{NAME, X};

const MENTIONS: &str = "mentions";
const DM_EVENTS: &str = "dm_events";
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Sleep `d`; `true` if shutdown came first.
async fn pause(shutdown: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(d) => false,
    }
}

fn stop(message: String) -> ChannelError {
    ChannelError {
        channel: NAME.into(),
        message,
    }
}

impl X {
    pub(super) async fn poll(
        self: &Arc<Self>,
        intake: &Arc<Intake>,
        shutdown: &CancellationToken,
    ) -> Result<(), ChannelError> {
        let store = intake.store();
        let health = intake.health();
        let account = self.config.user_id.clone();
        if self.config.auth == XAuth::Oauth2 {
            if let Some(refresh) = &self.config.refresh_token
                && store
                    .import_x_refresh_token(&account, refresh)
                    .await
                    .map_err(|e| stop(format!("store: {e}")))?
            {
                tracing::info!("imported the X refresh token from the environment");
            }
            match store.x_tokens(&account).await {
                Ok(Some(t)) if t.refused => return Err(self.refused()),
                Ok(Some(_)) => {}
                Ok(None) => return Err(stop(AuthError::Missing.to_string())),
                Err(e) => return Err(stop(format!("store: {e}"))),
            }
        }
        loop {
            self.set_state("waiting for the poller lock");
            let lock = loop {
                match store.channel_lock(NAME).await {
                    Ok(Some(lock)) => break lock,
                    Ok(None) => tracing::debug!("another instance polls X; waiting"),
                    Err(e) => health.error(NAME, &format!("poller lock: {e}")),
                }
                if pause(shutdown, Duration::from_secs(5)).await {
                    return Ok(());
                }
            };
            // A former holder whose lock died with its connection stops within the grace.
            if pause(shutdown, lock.grace()).await {
                return Ok(());
            }
            // Polling stops the moment the lock is found lost, between requests or not.
            tokio::select! {
                r = self.poll_holding(intake, shutdown, &lock) => r?,
                () = lock.lost() => {}
            }
            if shutdown.is_cancelled() {
                return Ok(());
            }
            tracing::warn!("X poller lock lost: stopped polling until it is taken again");
            drop(lock);
            if pause(shutdown, Duration::from_secs(5)).await {
                return Ok(());
            }
        }
    }

    /// Poll while `lock` is held; returns on shutdown or when the lock is found lost.
    async fn poll_holding(
        self: &Arc<Self>,
        intake: &Arc<Intake>,
        shutdown: &CancellationToken,
        lock: &ChannelLock,
    ) -> Result<(), ChannelError> {
        let store = intake.store();
        let health = intake.health();
        let mut cursor = match store.cursor(NAME).await {
            Ok(c) => Cursor::parse(c.as_deref()),
            Err(e) => return Err(stop(format!("cannot read the stored cursor: {e}"))),
        };
        self.set_state("polling");
        tracing::info!(cursor = %cursor.render(), "X polling");
        let mut backoff = Duration::from_secs(1);
        let every = Duration::from_secs(self.config.poll_secs);
        loop {
            if !lock.is_held().await {
                return Ok(());
            }
            let mut failed = false;
            for dms in [false, true] {
                let result = if dms {
                    self.poll_dms(intake, &mut cursor, shutdown).await
                } else {
                    self.poll_mentions(intake, &mut cursor, shutdown).await
                };
                self.report_budgets();
                match result {
                    Ok(true) => return Ok(()),
                    Ok(false) => {}
                    Err(ApiError::Auth(AuthError::Refused)) => return Err(self.refused()),
                    Err(ApiError::RateLimited { reset }) => {
                        tracing::info!(reset, "X rate limit reached: waiting for the reset");
                    }
                    Err(e) => {
                        failed = true;
                        tracing::warn!(error = %e, retry_in = ?backoff, "X poll failed");
                        health.error(NAME, &e.to_string());
                    }
                }
            }
            if !failed {
                health.ok(NAME);
                backoff = Duration::from_secs(1);
            }
            let now = unix_now();
            let wait = [MENTIONS, DM_EVENTS]
                .iter()
                .map(|e| wait_for(self.client.budget(e), now))
                .max()
                .unwrap_or_default()
                .max(if failed { backoff } else { every });
            if failed {
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            if pause(shutdown, wait).await {
                return Ok(());
            }
        }
    }

    /// The channel stops: the log says what to run, `/healthz` shows it.
    fn refused(&self) -> ChannelError {
        let message = AuthError::Refused.to_string();
        tracing::error!("X channel stopped: {message}");
        stop(message)
    }

    /// Wait until `endpoint` has requests left; `true` if shutdown came first.
    async fn await_budget(&self, endpoint: &str, shutdown: &CancellationToken) -> bool {
        let wait = wait_for(self.client.budget(endpoint), unix_now());
        !wait.is_zero() && pause(shutdown, wait).await
    }

    /// Read new mentions and hand them to intake, oldest first; `Ok(true)` on shutdown.
    async fn poll_mentions(
        &self,
        intake: &Intake,
        cursor: &mut Cursor,
        shutdown: &CancellationToken,
    ) -> Result<bool, ApiError> {
        let store = intake.store();
        let path = format!("/2/users/{}/mentions", self.config.user_id);
        let first = cursor.mentions.is_none();
        let mut base: Vec<(String, String)> = vec![
            ("max_results".into(), "100".into()),
            (
                "tweet.fields".into(),
                "author_id,conversation_id,created_at,referenced_tweets,entities,in_reply_to_user_id"
                    .into(),
            ),
            ("expansions".into(), "author_id".into()),
            ("user.fields".into(), "username,name,receives_your_dm".into()),
        ];
        match cursor.mentions.as_deref() {
            Some(since) if !since.is_empty() => base.push(("since_id".into(), since.into())),
            Some(_) => {}
            None if self.config.backfill_hours > 0 => {
                let from = unix_now().saturating_sub(self.config.backfill_hours * 3600);
                base.push(("start_time".into(), iso_seconds(from)));
            }
            None => {
                // A first start takes only new mentions: the newest one is the start.
                let query = vec![("max_results".into(), "5".into())];
                let page: Page<Tweet> = self.client.get(store, MENTIONS, &path, &query).await?;
                cursor.mentions = Some(page.meta.newest_id.unwrap_or_default());
                self.save_cursor(intake, cursor).await;
                return Ok(false);
            }
        }
        let mut tweets: Vec<Tweet> = Vec::new();
        let mut users: Vec<User> = Vec::new();
        let mut token: Option<String> = None;
        loop {
            if self.await_budget(MENTIONS, shutdown).await {
                return Ok(true);
            }
            let mut query = base.clone();
            if let Some(t) = &token {
                query.push(("pagination_token".into(), t.clone()));
            }
            let page: Page<Tweet> = match self.client.get(store, MENTIONS, &path, &query).await {
                Err(ApiError::RateLimited { .. }) if token.is_some() => continue,
                other => other?,
            };
            for problem in &page.errors {
                tracing::warn!(title = %problem.title, detail = ?problem.detail, resource = ?problem.resource_id, "X partial error in mentions");
            }
            tweets.extend(page.data);
            users.extend(page.includes.users);
            match page.meta.next_token {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        if let Err(e) = store.save_x_users(&read::users(&users, false)).await {
            tracing::warn!(error = %e, "cannot store X users");
        }
        let account = self.config.user_id.clone();
        for tweet in tweets.iter().rev() {
            if cursor
                .mentions
                .as_deref()
                .is_some_and(|c| !c.is_empty() && !id_newer(&tweet.id, c))
            {
                continue;
            }
            cursor.mentions = Some(tweet.id.clone());
            if let Some(reason) = read::skip_reason(tweet, &account) {
                tracing::debug!(post = %tweet.id, reason, "X mention skipped");
                continue;
            }
            let Some(mut inbound) = read::mention(tweet, &users) else {
                continue;
            };
            inbound.action = self.action_of(intake, tweet).await;
            inbound.cursor = Some(cursor.render());
            if self.hand_over(intake, inbound, shutdown).await {
                return Ok(true);
            }
        }
        if first && cursor.mentions.is_none() {
            cursor.mentions = Some(String::new());
        }
        self.save_cursor(intake, cursor).await;
        Ok(false)
    }

    /// A reply to one of the office's posts that is only 👍/👎 or 1–5 is feedback on it.
    async fn action_of(&self, intake: &Intake, tweet: &Tweet) -> Action {
        let Some(verdict) = read::verdict(&tweet.text) else {
            return Action::Message;
        };
        let Some(parent) = tweet
            .referenced_tweets
            .iter()
            .find(|r| r.kind == "replied_to")
        else {
            return Action::Message;
        };
        match (
            intake.store().answered_by_post(NAME, &parent.id).await,
            verdict,
        ) {
            (Ok(Some((_, Some(message)))), Verdict::Useful(useful)) => {
                Action::Feedback { message, useful }
            }
            (Ok(Some((conversation, _))), Verdict::Score(score)) => Action::Rate {
                conversation,
                score,
            },
            _ => Action::Message,
        }
    }

    /// Store one message, retrying a failing store; `true` if shutdown came first.
    async fn hand_over(
        &self,
        intake: &Intake,
        inbound: Inbound,
        shutdown: &CancellationToken,
    ) -> bool {
        let mut backoff = Duration::from_secs(1);
        loop {
            match intake.receive(inbound.clone()).await {
                Ok(_) => return false,
                Err(e) => {
                    tracing::error!(message = %inbound.platform_id, error = %e, "cannot store an X message; retrying");
                    intake
                        .health()
                        .error(NAME, &format!("storing {}: {e}", inbound.platform_id));
                }
            }
            if pause(shutdown, backoff).await {
                return true;
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Store the cursor on its own (after skipped posts, or a first start).
    async fn save_cursor(&self, intake: &Intake, cursor: &Cursor) {
        if let Err(e) = intake.store().set_cursor(NAME, &cursor.render()).await {
            tracing::warn!(error = %e, "cannot store the X cursor");
        }
    }

    /// Read new DMs and hand them to intake, oldest first; `Ok(true)` on shutdown.
    async fn poll_dms(
        &self,
        intake: &Intake,
        cursor: &mut Cursor,
        shutdown: &CancellationToken,
    ) -> Result<bool, ApiError> {
        let store = intake.store();
        let base: Vec<(String, String)> = vec![
            ("max_results".into(), "100".into()),
            ("event_types".into(), "MessageCreate".into()),
            (
                "dm_event.fields".into(),
                "id,text,event_type,sender_id,created_at,dm_conversation_id".into(),
            ),
            ("expansions".into(), "sender_id".into()),
            ("user.fields".into(), "username,name".into()),
        ];
        let seen = cursor.dms.clone();
        let mut events: Vec<DmEvent> = Vec::new();
        let mut users: Vec<User> = Vec::new();
        let mut token: Option<String> = None;
        'pages: loop {
            if self.await_budget(DM_EVENTS, shutdown).await {
                return Ok(true);
            }
            let mut query = base.clone();
            if let Some(t) = &token {
                query.push(("pagination_token".into(), t.clone()));
            }
            let page: Page<DmEvent> = match self
                .client
                .get(store, DM_EVENTS, "/2/dm_events", &query)
                .await
            {
                Err(ApiError::RateLimited { .. }) if token.is_some() => continue,
                other => other?,
            };
            users.extend(page.includes.users);
            for event in page.data {
                // Newest first: stop at the first event already handled.
                let Some(seen) = &seen else {
                    // A first start takes only new DMs.
                    cursor.dms = Some(event.id);
                    self.save_cursor(intake, cursor).await;
                    return Ok(false);
                };
                if !seen.is_empty() && !id_newer(&event.id, seen) {
                    break 'pages;
                }
                events.push(event);
            }
            match page.meta.next_token {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        if seen.is_none() {
            cursor.dms = Some(String::new());
            self.save_cursor(intake, cursor).await;
            return Ok(false);
        }
        if let Err(e) = store.save_x_users(&read::users(&users, true)).await {
            tracing::warn!(error = %e, "cannot store X users");
        }
        let account = self.config.user_id.clone();
        for event in events.iter().rev() {
            cursor.dms = Some(event.id.clone());
            let Some(mut inbound) = read::dm(event, &account, &users) else {
                continue;
            };
            inbound.cursor = Some(cursor.render());
            if self.hand_over(intake, inbound, shutdown).await {
                return Ok(true);
            }
        }
        if !events.is_empty() {
            self.save_cursor(intake, cursor).await;
        }
        Ok(false)
    }
}

/// Unix seconds as X's `start_time` (`YYYY-MM-DDTHH:MM:SSZ`).
fn iso_seconds(secs: u64) -> String {
    let (y, m, d) = sportello_core::calendar::civil((secs / 86_400) as i64);
    let rest = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn start_time_is_written_as_x_reads_it() {
        assert_eq!(super::iso_seconds(1_609_958_440), "2021-01-06T18:40:40Z");
    }
}
