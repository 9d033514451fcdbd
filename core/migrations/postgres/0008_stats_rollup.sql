-- The statistics' daily rollup. Once a day is over, its counts (inbound messages by outcome,
-- conversations opened, answers per sheet, feedback) never change: they are written here
-- once, per day cut (the UTC offset the office's local midnight had for the period asked),
-- metric, day, channel and key, and a year of statistics sums these rows instead of counting
-- a year of messages.
create table stats_daily (
    offset_ms bigint not null,
    metric text not null,
    day bigint not null,
    channel text not null,
    key text not null,
    n bigint not null,
    primary key (offset_ms, metric, day, channel, key)
);

-- The days already rolled up, a row even for a day without messages.
create table stats_days (
    offset_ms bigint not null,
    day bigint not null,
    primary key (offset_ms, day)
);

-- A citizen's first press on an answer is found by message.
create index feedback_message on feedback (message_id, created_at);
