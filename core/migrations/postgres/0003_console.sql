-- The operators' console: sessions, login throttling, internal notes, office notifications
-- and phrasings proposed to editors.

-- a console session; the id itself is only in the browser's cookie, here its SHA-256
create table sessions (
    id_hash text primary key,
    user_id bigint not null references users (id),
    csrf_token text not null,
    created_at bigint not null,
    last_seen_at bigint not null,
    expires_at bigint not null
);
create index sessions_user on sessions (user_id);

-- failed logins, counted per username and per client address over a sliding window
create table login_failures (
    id bigint generated always as identity primary key,
    username text not null,
    address text not null,
    at bigint not null
);
create index login_failures_username on login_failures (username, at);
create index login_failures_address on login_failures (address, at);

-- operators' notes on a conversation; never sent to the citizen
create table notes (
    id bigint generated always as identity primary key,
    conversation_id bigint not null references conversations (id),
    author text not null,
    text text not null,
    created_at bigint not null
);
create index notes_conversation on notes (conversation_id, id);

-- the email an office gets when a conversation is transferred to it; sent by an email
-- sender when one is configured, otherwise left pending and shown to operators
create table office_notifications (
    id bigint generated always as identity primary key,
    conversation_id bigint not null references conversations (id),
    office_id text not null references offices (id),
    recipient text not null,
    subject text not null,
    body text not null,
    state text not null check (state in ('pending', 'sent', 'failed')),
    created_by text not null,
    created_at bigint not null,
    sent_at bigint
);
create index office_notifications_state on office_notifications (state, id);
create index office_notifications_conversation on office_notifications (conversation_id);

-- "teach the bot": a citizen's question proposed as a phrasing of a sheet, for editors
create table proposed_phrasings (
    id bigint generated always as identity primary key,
    sheet_id text not null,
    text text not null,
    conversation_id bigint references conversations (id),
    message_id bigint references messages (id),
    state text not null check (state in ('pending', 'approved', 'rejected')),
    proposed_by text not null,
    created_at bigint not null,
    decided_by text,
    decided_at bigint
);
create index proposed_phrasings_state on proposed_phrasings (state, id);

-- the queue page filters open conversations by channel and office
create index conversations_channel_status on conversations (channel, status);
