-- Citizens' feedback: 👍/👎 on a bot answer, and 1-5 ratings of resolved conversations.
-- One row per button press, deduplicated by the platform's id of the press.
create table feedback (
    id integer primary key,
    channel text not null,
    platform_id text not null,
    conversation_id integer not null references conversations (id),
    -- the citizen's message the answer replied to (useful / not_useful)
    message_id integer references messages (id),
    sheet_id text,
    kind text not null check (kind in ('useful', 'not_useful', 'rating')),
    score integer,
    created_at integer not null,
    unique (channel, platform_id)
);
create index feedback_created on feedback (created_at);
create index feedback_conversation on feedback (conversation_id);
