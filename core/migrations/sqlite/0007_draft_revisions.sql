-- Every save in the sheet workshop is a numbered revision: drafts too, not only what was
-- published. `kind` tells them apart; revision numbers are shared by both kinds, per sheet.
alter table sheet_revisions add column kind text not null default 'published'
    check (kind in ('draft', 'published'));
