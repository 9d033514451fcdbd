-- Statistics: the sheet each answer used, and an index that holds every column the
-- statistics read, so a year of messages is counted from the index alone.

-- the sheet the bot answered with (decision 'answer'), the first candidate
alter table messages add column sheet_id text;
update messages set sheet_id = json_extract(candidates, '$[0].sheet_id')
    where decision = 'answer' and candidates is not null and json_valid(candidates);

create index messages_stats on messages (created_at, direction, channel, decision, reason, sheet_id);
create index conversations_opened on conversations (opened_at, channel);
create index conversations_escalated on conversations (escalated_at, channel);
create index outbox_failed on outbox (state, created_at, channel);
