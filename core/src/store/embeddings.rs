//! The sentence encoder's embeddings of sheet texts, by (model id, text key).

use sqlx::Row;

use super::Store;
use crate::error::{Error, Result};

impl Store {
    /// Every stored embedding of `model`, as (key, vector).
    pub async fn embeddings(&self, model: &str) -> Result<Vec<(String, Vec<f32>)>> {
        let rows = sqlx::query("select key, vector from embeddings where model = $1")
            .bind(model)
            .fetch_all(self.pool())
            .await?;
        rows.into_iter()
            .map(|row| {
                let key: String = row.try_get("key")?;
                let bytes: Vec<u8> = row.try_get("vector")?;
                if !bytes.len().is_multiple_of(4) {
                    return Err(Error::Corrupt(format!(
                        "embedding {key}: {} bytes",
                        bytes.len()
                    )));
                }
                let vector = bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                Ok((key, vector))
            })
            .collect()
    }

    /// Store embeddings of `model`; a key already stored (by another instance) is kept.
    pub async fn save_embeddings(&self, model: &str, vectors: &[(String, Vec<f32>)]) -> Result<()> {
        if vectors.is_empty() {
            return Ok(());
        }
        let now = self.now_ms();
        let mut w = self.begin_write().await?;
        for (key, vector) in vectors {
            let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
            sqlx::query(
                "insert into embeddings (model, key, vector, created_at) values ($1, $2, $3, $4) \
                 on conflict (model, key) do nothing",
            )
            .bind(model)
            .bind(key)
            .bind(bytes)
            .bind(now)
            .execute(&mut *w.tx)
            .await?;
        }
        w.commit().await
    }
}
