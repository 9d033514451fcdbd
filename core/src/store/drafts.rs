//! The sheet workshop's drafts and the revision history.
//!
//! A draft is kept apart from the sheet the bot uses, so that an editor can change a
//! published sheet for days while citizens keep getting the published text; publishing
//! saves the draft as the sheet (a new revision) and removes the draft. Every save is a
//! numbered revision: a draft save is a revision of kind draft, which the bot never uses.

use serde::Serialize;
use sportello_faq::{Sheet, SheetStatus};
use sqlx::Row;

use super::Store;
use crate::error::{Error, Result};

/// A draft, with who saved it last and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DraftRow {
    /// The draft sheet.
    pub sheet: Sheet,
    /// Who saved it.
    pub author: String,
    /// When, unix ms.
    pub updated_at: i64,
}

/// One saved revision of a sheet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevisionRow {
    /// Revision number, 1 for the first save.
    pub revision: i64,
    /// The sheet as it was saved.
    pub sheet: Sheet,
    /// Who saved it.
    pub author: Option<String>,
    /// When, unix ms.
    pub created_at: i64,
    /// A draft save (true) or a published version (false).
    pub draft: bool,
}

fn parse(data: &str) -> Result<Sheet> {
    serde_json::from_str(data).map_err(|e| Error::Corrupt(e.to_string()))
}

impl Store {
    /// Save `sheet` as the draft of its id (replacing an earlier draft), as a new revision
    /// of kind draft. Saving the same text again changes nothing. Returns the revision
    /// number, or `None` when nothing changed.
    pub async fn save_draft(&self, sheet: &Sheet, author: &str) -> Result<Option<i64>> {
        let now = self.now_ms();
        let data = serde_json::to_string(sheet).map_err(|e| Error::Invalid(e.to_string()))?;
        let mut w = self.begin_write().await?;
        let same: Option<String> =
            sqlx::query_scalar("select data from sheet_drafts where sheet_id = $1")
                .bind(&sheet.id)
                .fetch_optional(&mut *w.tx)
                .await?;
        if same.as_deref() == Some(data.as_str()) {
            return Ok(None);
        }
        let revision = self
            .add_sheet_revision(&mut w.tx, &sheet.id, &data, author, now, true)
            .await?;
        sqlx::query(
            "insert into sheet_drafts (sheet_id, data, author, updated_at) values ($1, $2, $3, $4) \
             on conflict (sheet_id) do update set data = excluded.data, author = excluded.author, \
             updated_at = excluded.updated_at",
        )
        .bind(&sheet.id)
        .bind(&data)
        .bind(author)
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
        w.commit().await?;
        Ok(Some(revision))
    }

    /// The draft of a sheet, if there is one.
    pub async fn draft(&self, id: &str) -> Result<Option<DraftRow>> {
        let row =
            sqlx::query("select data, author, updated_at from sheet_drafts where sheet_id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        row.map(|r| {
            Ok(DraftRow {
                sheet: parse(&r.try_get::<String, _>("data")?)?,
                author: r.try_get("author")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .transpose()
    }

    /// Every draft, by sheet id.
    pub async fn drafts(&self) -> Result<Vec<DraftRow>> {
        let rows =
            sqlx::query("select data, author, updated_at from sheet_drafts order by sheet_id")
                .fetch_all(self.pool())
                .await?;
        rows.iter()
            .map(|r| {
                Ok(DraftRow {
                    sheet: parse(&r.try_get::<String, _>("data")?)?,
                    author: r.try_get("author")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// Drop a sheet's draft.
    pub async fn discard_draft(&self, id: &str) -> Result<()> {
        sqlx::query("delete from sheet_drafts where sheet_id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Publish a sheet: save it (a new revision, status published) and drop its draft.
    pub async fn publish_sheet(&self, sheet: &Sheet, author: &str) -> Result<()> {
        let mut sheet = sheet.clone();
        sheet.status = SheetStatus::Published;
        self.save_sheets(std::slice::from_ref(&sheet), author)
            .await?;
        self.discard_draft(&sheet.id).await
    }

    /// A sheet's revisions, newest first.
    pub async fn sheet_revisions(&self, id: &str) -> Result<Vec<RevisionRow>> {
        let rows = sqlx::query(
            "select revision, data, author, created_at, kind from sheet_revisions \
             where sheet_id = $1 order by revision desc",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RevisionRow {
                    revision: r.try_get("revision")?,
                    sheet: parse(&r.try_get::<String, _>("data")?)?,
                    author: r.try_get("author")?,
                    created_at: r.try_get("created_at")?,
                    draft: r.try_get::<String, _>("kind")? == "draft",
                })
            })
            .collect()
    }
}
