//! What the X channel keeps: its rotating OAuth 2.0 token pair, the citizens' handles and
//! whether they accept direct messages, and the links from the office's posts back to the
//! messages they answered.

use sqlx::Row;

use super::Store;
use crate::config::Secret;
use crate::error::Result;

/// The stored OAuth 2.0 user-context pair of the office account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XTokens {
    /// Access token (empty until the first refresh).
    pub access_token: Secret,
    /// The single-use refresh token X expects next.
    pub refresh_token: Secret,
    /// When the access token expires, unix ms (0: refresh before use).
    pub expires_at_ms: i64,
    /// X refused the refresh token (`invalid_grant`): the office must authorize again.
    pub refused: bool,
}

/// A citizen on X, as the mentions and DM expansions describe them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XUser {
    /// X user id.
    pub user_id: String,
    /// Handle, without `@`.
    pub username: String,
    /// Display name.
    pub name: String,
    /// Whether the office can send them a direct message.
    pub receives_dm: bool,
}

/// What the X channel needs to know about an outbox row to choose between a public reply and
/// a direct message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XOutgoing {
    /// `bot` or `operator`.
    pub author: String,
    /// The decision stored with the citizen's message it replies to (`handoff`, `answer`, …).
    pub decision: Option<String>,
    /// The platform id of the conversation's latest inbound message, when the row has no
    /// `reply_to` of its own (e.g. the alternatives after a 👎).
    pub last_inbound: Option<String>,
}

impl Store {
    /// The stored token pair of `account`.
    pub async fn x_tokens(&self, account: &str) -> Result<Option<XTokens>> {
        let row = sqlx::query(
            "select access_token, refresh_token, expires_at, state from x_tokens where account = $1",
        )
        .bind(account)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            let state: String = row.try_get("state")?;
            Ok(XTokens {
                access_token: Secret::new(row.try_get("access_token")?),
                refresh_token: Secret::new(row.try_get("refresh_token")?),
                expires_at_ms: row.try_get("expires_at")?,
                refused: state == "refused",
            })
        })
        .transpose()
    }

    /// Store a new pair (after a refresh or an authorization), in one transaction.
    pub async fn save_x_tokens(&self, account: &str, tokens: &XTokens) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "insert into x_tokens (account, access_token, refresh_token, expires_at, state, updated_at) \
             values ($1, $2, $3, $4, $5, $6) on conflict (account) do update set \
             access_token = excluded.access_token, refresh_token = excluded.refresh_token, \
             expires_at = excluded.expires_at, state = excluded.state, updated_at = excluded.updated_at",
        )
        .bind(account)
        .bind(tokens.access_token.expose())
        .bind(tokens.refresh_token.expose())
        .bind(tokens.expires_at_ms)
        .bind(if tokens.refused { "refused" } else { "ok" })
        .bind(self.now_ms())
        .execute(&mut *w.tx)
        .await?;
        w.commit().await
    }

    /// Store a first refresh token (from the environment) unless a pair is already stored:
    /// the stored pair has rotated since and is the one X expects. `true` if imported.
    pub async fn import_x_refresh_token(&self, account: &str, refresh: &Secret) -> Result<bool> {
        let mut w = self.begin_write().await?;
        let done = sqlx::query(
            "insert into x_tokens (account, access_token, refresh_token, expires_at, state, updated_at) \
             values ($1, '', $2, 0, 'ok', $3) on conflict (account) do nothing",
        )
        .bind(account)
        .bind(refresh.expose())
        .bind(self.now_ms())
        .execute(&mut *w.tx)
        .await?;
        w.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Mark the stored refresh token refused by X.
    pub async fn refuse_x_tokens(&self, account: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query("update x_tokens set state = 'refused', updated_at = $2 where account = $1")
            .bind(account)
            .bind(self.now_ms())
            .execute(&mut *w.tx)
            .await?;
        w.commit().await
    }

    /// Remember what X says about a citizen.
    pub async fn save_x_users(&self, users: &[XUser]) -> Result<()> {
        if users.is_empty() {
            return Ok(());
        }
        let now = self.now_ms();
        let mut w = self.begin_write().await?;
        for u in users {
            sqlx::query(
                "insert into x_users (user_id, username, name, receives_dm, updated_at) values ($1, $2, $3, $4, $5) \
                 on conflict (user_id) do update set username = excluded.username, name = excluded.name, \
                 receives_dm = excluded.receives_dm, updated_at = excluded.updated_at",
            )
            .bind(&u.user_id)
            .bind(&u.username)
            .bind(&u.name)
            .bind(i64::from(u.receives_dm))
            .bind(now)
            .execute(&mut *w.tx)
            .await?;
        }
        w.commit().await
    }

    /// What is known of a citizen on X.
    pub async fn x_user(&self, user_id: &str) -> Result<Option<XUser>> {
        let row = sqlx::query(
            "select user_id, username, name, receives_dm from x_users where user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok(XUser {
                user_id: row.try_get("user_id")?,
                username: row.try_get("username")?,
                name: row.try_get("name")?,
                receives_dm: row.try_get::<i64, _>("receives_dm")? != 0,
            })
        })
        .transpose()
    }

    /// Who wrote outbox row `outbox_id`, and what the message it answers was decided.
    pub async fn x_outgoing(&self, outbox_id: i64) -> Result<Option<XOutgoing>> {
        let row = sqlx::query(
            "select m.author, \
             (select i.decision from messages i where i.channel = o.channel and i.platform_id = o.reply_to) as decision, \
             (select i.platform_id from messages i where i.conversation_id = o.conversation_id \
              and i.direction = 'in' order by i.id desc limit 1) as last_inbound \
             from outbox o join messages m on m.id = o.message_id where o.id = $1",
        )
        .bind(outbox_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok(XOutgoing {
                author: row.try_get("author")?,
                decision: row.try_get("decision")?,
                last_inbound: row.try_get("last_inbound")?,
            })
        })
        .transpose()
    }

    /// The conversation a post of the office belongs to, and the citizen's message it
    /// answered, found by the post's id on `channel`.
    pub async fn answered_by_post(
        &self,
        channel: &str,
        post_id: &str,
    ) -> Result<Option<(i64, Option<i64>)>> {
        let row = sqlx::query(
            "select o.conversation_id, i.id as message_id from outbox o \
             left join messages i on i.channel = o.channel and i.platform_id = o.reply_to \
             where o.channel = $1 and o.platform_ref = $2 order by o.id desc limit 1",
        )
        .bind(channel)
        .bind(post_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| Ok((row.try_get("conversation_id")?, row.try_get("message_id")?)))
            .transpose()
    }

    /// Keep the PKCE verifier of an authorization under way (one per account).
    pub async fn save_x_verifier(&self, account: &str, verifier: &Secret) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "insert into x_authorizations (account, verifier, created_at) values ($1, $2, $3) \
             on conflict (account) do update set verifier = excluded.verifier, created_at = excluded.created_at",
        )
        .bind(account)
        .bind(verifier.expose())
        .bind(self.now_ms())
        .execute(&mut *w.tx)
        .await?;
        w.commit().await
    }

    /// The PKCE verifier of the authorization under way.
    pub async fn x_verifier(&self, account: &str) -> Result<Option<Secret>> {
        let v: Option<String> =
            sqlx::query_scalar("select verifier from x_authorizations where account = $1")
                .bind(account)
                .fetch_optional(self.pool())
                .await?;
        Ok(v.map(Secret::new))
    }

    /// Whether an operator's answer in this conversation would be posted publicly on X: the
    /// citizen wrote by mention (not by DM) and does not accept DMs from the office. The
    /// console warns before such a reply; `false` for conversations on other channels.
    pub async fn x_reply_is_public(&self, conversation_id: i64) -> Result<bool> {
        let row = sqlx::query(
            "select (select m.platform_id from messages m where m.conversation_id = c.id \
              and m.direction = 'in' order by m.id desc limit 1) as last_inbound, \
             (select u.receives_dm from x_users u where u.user_id = k.external_id) as receives_dm \
             from conversations c join contacts k on k.id = c.contact_id \
             where c.id = $1 and c.channel = 'x'",
        )
        .bind(conversation_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let last: Option<String> = row.try_get("last_inbound")?;
        let receives_dm: Option<i64> = row.try_get("receives_dm")?;
        let by_dm = last.is_some_and(|p| p.starts_with("dm:"));
        Ok(!by_dm && receives_dm.unwrap_or(0) == 0)
    }
}
