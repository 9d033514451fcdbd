-- The email channel: attachment bytes (up to email.attachment_limit per message; larger ones
-- only by name, type and size, with a note), and indexes to find the outbox row of a sent
-- Message-ID (threading, bounces) and to count a sender's automatic replies of the day.
create table email_attachments (
    id bigint generated always as identity primary key,
    platform_id text not null,
    position bigint not null,
    name text,
    mime text,
    size bigint not null,
    data bytea,
    note text,
    created_at bigint not null,
    unique (platform_id, position)
);
create index outbox_platform_ref on outbox (channel, platform_ref) where platform_ref is not null;
create index outbox_recipient on outbox (channel, recipient, created_at);

-- Feedback links of email answers: one unguessable token per answered citizen's message; its
-- first use is recorded (the feedback's platform id is the token), later uses are not.
create table email_feedback (
    token text primary key,
    message_id bigint not null unique,
    created_at bigint not null
);
