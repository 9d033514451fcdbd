//! Secrets the server makes for itself: created on first use, kept in the database, so that
//! every instance on it, and the same instance after a restart, signs with the same one.

use super::Store;
use crate::error::Result;

impl Store {
    /// The server secret named `name`, made (256 random bits) the first time it is asked for.
    /// Two instances asking at once agree: the first insert wins, both read it back.
    pub async fn server_secret(&self, name: &str) -> Result<String> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "insert into server_secrets (name, value, created_at) values ($1, $2, $3) \
             on conflict (name) do nothing",
        )
        .bind(name)
        .bind(crate::secret::random_token())
        .bind(self.now_ms())
        .execute(&mut *w.tx)
        .await?;
        let value: String = sqlx::query_scalar("select value from server_secrets where name = $1")
            .bind(name)
            .fetch_one(&mut *w.tx)
            .await?;
        w.commit().await?;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::TestDb;

    async fn a_secret_is_made_once_and_kept(db: TestDb) {
        let store = db.store().await;
        let first = store.server_secret("webchat-resume").await.unwrap();
        assert_eq!(first.len(), 43);
        assert_eq!(store.server_secret("webchat-resume").await.unwrap(), first);
        assert_ne!(store.server_secret("other").await.unwrap(), first);
    }

    #[tokio::test]
    async fn a_secret_is_made_once_and_kept_on_sqlite() {
        a_secret_is_made_once_and_kept(TestDb::sqlite()).await;
    }

    #[tokio::test]
    async fn a_secret_is_made_once_and_kept_on_postgres() {
        a_secret_is_made_once_and_kept(TestDb::postgres().await).await;
    }
}
