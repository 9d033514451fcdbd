-- Statistics and the sheet workshop. The sheet each answer used, and an index that holds every column the
-- statistics read, so a year of messages is counted from the index alone.

-- the sheet the bot answered with (decision 'answer'), the first candidate
alter table messages add column sheet_id text;
update messages set sheet_id = json_extract(candidates, '$[0].sheet_id')
    where decision = 'answer' and candidates is not null and json_valid(candidates);

create index messages_stats on messages (created_at, direction, channel, decision, reason, sheet_id);
create index conversations_opened on conversations (opened_at, channel);
create index conversations_escalated on conversations (escalated_at, channel, first_response_at, resolved_at);
create index feedback_stats on feedback (created_at, channel, kind, score, message_id, sheet_id);
create index outbox_failed on outbox (state, created_at, channel);

-- The sheet workshop: an editor's draft of a sheet, kept apart from the sheet the bot uses
-- until it is published (one draft per sheet; a new sheet exists only as a draft at first).
create table sheet_drafts (
    sheet_id text primary key,
    data text not null,
    author text not null,
    updated_at integer not null
);
