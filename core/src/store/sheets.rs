//! Sheets, their revisions, and offices in the store.

use serde::Serialize;
use sportello_faq::{Office, Sheet, SheetStatus};
use sqlx::Row;

use super::{Store, audit};
use crate::error::{Error, Result};

/// A sheet with its revision bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredSheet {
    /// The sheet.
    pub sheet: Sheet,
    /// Revision number, 1 for the first save.
    pub revision: i64,
    /// Last saved, unix ms.
    pub updated_at: i64,
    /// Who saved it last.
    pub updated_by: Option<String>,
}

fn status_name(s: SheetStatus) -> &'static str {
    match s {
        SheetStatus::Draft => "draft",
        SheetStatus::Published => "published",
    }
}

impl Store {
    /// How many sheets the store has.
    pub async fn sheet_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("select count(*) from sheets")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Save sheets, each as a new revision, in one transaction. Unchanged sheets are skipped.
    /// Returns how many were written.
    pub async fn save_sheets(&self, sheets: &[Sheet], author: &str) -> Result<usize> {
        let now = self.now_ms();
        let mut w = self.begin_write().await?;
        let mut written = 0;
        for sheet in sheets {
            let data = serde_json::to_string(sheet).map_err(|e| Error::Invalid(e.to_string()))?;
            let current: Option<String> =
                sqlx::query_scalar("select data from sheets where id = $1")
                    .bind(&sheet.id)
                    .fetch_optional(&mut *w.tx)
                    .await?;
            if current.as_deref() == Some(data.as_str()) {
                continue;
            }
            let revision = self
                .add_sheet_revision(&mut w.tx, &sheet.id, &data, author, now, false)
                .await?;
            sqlx::query(
                "insert into sheets (id, title, status, data, revision, updated_at, updated_by) \
                 values ($1, $2, $3, $4, $5, $6, $7) \
                 on conflict (id) do update set title = excluded.title, status = excluded.status, \
                 data = excluded.data, revision = excluded.revision, updated_at = excluded.updated_at, \
                 updated_by = excluded.updated_by",
            )
            .bind(&sheet.id)
            .bind(&sheet.title)
            .bind(status_name(sheet.status))
            .bind(&data)
            .bind(revision)
            .bind(now)
            .bind(author)
            .execute(&mut *w.tx)
            .await?;
            written += 1;
        }
        w.commit().await?;
        Ok(written)
    }

    /// Every sheet, drafts included, by id.
    pub async fn sheets(&self) -> Result<Vec<StoredSheet>> {
        let rows =
            sqlx::query("select data, revision, updated_at, updated_by from sheets order by id")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| {
                let data: String = row.try_get("data")?;
                Ok(StoredSheet {
                    sheet: serde_json::from_str(&data)
                        .map_err(|e| Error::Corrupt(e.to_string()))?,
                    revision: row.try_get("revision")?,
                    updated_at: row.try_get("updated_at")?,
                    updated_by: row.try_get("updated_by")?,
                })
            })
            .collect()
    }

    /// The published sheets, for the matcher.
    pub async fn published_sheets(&self) -> Result<Vec<Sheet>> {
        Ok(self
            .sheets()
            .await?
            .into_iter()
            .map(|s| s.sheet)
            .filter(|s| s.status == SheetStatus::Published)
            .collect())
    }

    /// Delete a sheet (its revisions stay, so it can be restored).
    pub async fn delete_sheet(&self, id: &str, author: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        let done = sqlx::query("delete from sheets where id = $1")
            .bind(id)
            .execute(&mut *w.tx)
            .await?
            .rows_affected();
        if done == 0 {
            return Err(Error::NotFound(format!("sheet {id}")));
        }
        audit(
            &mut w.tx,
            self.now_ms(),
            author,
            "sheet.delete",
            &format!("sheet:{id}"),
            &serde_json::Value::Null,
        )
        .await?;
        w.commit().await
    }

    /// Make the store's offices those of the configuration file.
    pub async fn sync_offices(&self, offices: &[Office]) -> Result<()> {
        let now = self.now_ms();
        let mut w = self.begin_write().await?;
        for o in offices {
            sqlx::query(
                "insert into offices (id, name, email, phone, address, hours, updated_at) values ($1, $2, $3, $4, $5, $6, $7) \
                 on conflict (id) do update set name = excluded.name, email = excluded.email, phone = excluded.phone, \
                 address = excluded.address, hours = excluded.hours, updated_at = excluded.updated_at",
            )
            .bind(&o.id)
            .bind(&o.name)
            .bind(&o.email)
            .bind(&o.phone)
            .bind(&o.address)
            .bind(&o.hours)
            .bind(now)
            .execute(&mut *w.tx)
            .await?;
        }
        w.commit().await
    }

    /// The offices, by id.
    pub async fn offices(&self) -> Result<Vec<Office>> {
        let rows =
            sqlx::query("select id, name, email, phone, address, hours from offices order by id")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(Office {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    email: r.try_get("email")?,
                    phone: r.try_get("phone")?,
                    address: r.try_get("address")?,
                    hours: r.try_get("hours")?,
                })
            })
            .collect()
    }
}
