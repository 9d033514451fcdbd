-- Sportello schema for SQLite. Times are unix milliseconds (UTC) in INTEGER columns, so that
-- the same queries and the same Rust types work on SQLite and PostgreSQL.

-- one row per identity on a channel (a Telegram chat, an X account, an email address, a web chat session)
create table contacts (
    id integer primary key,
    channel text not null,
    external_id text not null,
    display_name text not null default '',
    unreachable integer not null default 0,
    unreachable_reason text,
    created_at integer not null,
    unique (channel, external_id)
);

create table offices (
    id text primary key,
    name text not null,
    email text not null default '',
    phone text not null default '',
    address text not null default '',
    hours text not null default '',
    updated_at integer not null
);

create table users (
    id integer primary key,
    username text not null unique,
    role text not null check (role in ('operator', 'editor', 'admin')),
    password_hash text not null,
    disabled integer not null default 0,
    created_at integer not null
);

-- API tokens are stored as SHA-256 hashes; the token itself is shown once at creation
create table api_tokens (
    id integer primary key,
    name text not null,
    role text not null check (role in ('operator', 'editor', 'admin')),
    token_hash text not null unique,
    created_at integer not null,
    last_used_at integer,
    revoked_at integer
);

create table conversations (
    id integer primary key,
    contact_id integer not null references contacts (id),
    channel text not null,
    thread text not null,
    subject text,
    status text not null check (status in ('bot', 'queued', 'assigned', 'resolved')),
    assignee_id integer references users (id),
    office_id text references offices (id),
    -- the citizen got the one short "an operator will answer" acknowledgement
    acknowledged integer not null default 0,
    opened_at integer not null,
    escalated_at integer,
    first_response_at integer,
    resolved_at integer,
    last_message_at integer not null
);
-- at most one open conversation per channel thread
create unique index conversations_open_thread on conversations (channel, thread) where status <> 'resolved';
create index conversations_status on conversations (status, escalated_at);
create index conversations_contact on conversations (contact_id);

create table messages (
    id integer primary key,
    conversation_id integer not null references conversations (id),
    channel text not null,
    direction text not null check (direction in ('in', 'out')),
    author text not null check (author in ('citizen', 'bot', 'operator')),
    author_user_id integer references users (id),
    -- the platform's id of an inbound message, unique within its channel
    platform_id text,
    text text not null,
    -- the platform's original bytes when they were not valid UTF-8 or held NUL characters
    raw blob,
    attachments text,
    decision text check (decision in ('answer', 'clarify', 'smalltalk', 'handoff')),
    reason text,
    confidence real,
    candidates text,
    created_at integer not null
);
create unique index messages_platform on messages (channel, platform_id);
create index messages_conversation on messages (conversation_id, id);
create index messages_created on messages (created_at);

create table outbox (
    id integer primary key,
    message_id integer not null references messages (id),
    conversation_id integer not null references conversations (id),
    channel text not null,
    recipient text not null,
    thread text not null,
    subject text,
    reply_to text,
    text text not null,
    buttons text,
    state text not null check (state in ('pending', 'sending', 'sent', 'failed')),
    attempts integer not null default 0,
    due_at integer not null,
    locked_until integer,
    last_error text,
    platform_ref text,
    created_at integer not null,
    sent_at integer
);
create index outbox_due on outbox (state, due_at);
create index outbox_conversation on outbox (conversation_id);

-- Telegram offset, X since_id, IMAP UIDVALIDITY/UID: where each channel resumes
create table channel_cursors (
    channel text primary key,
    cursor text not null,
    updated_at integer not null
);

-- the current version of each sheet; `data` is the sheet as JSON
create table sheets (
    id text primary key,
    title text not null,
    status text not null check (status in ('draft', 'published')),
    data text not null,
    revision integer not null,
    updated_at integer not null,
    updated_by text
);

create table sheet_revisions (
    id integer primary key,
    sheet_id text not null,
    revision integer not null,
    data text not null,
    author text,
    created_at integer not null,
    unique (sheet_id, revision)
);

create table audit_log (
    id integer primary key,
    at integer not null,
    actor text not null,
    action text not null,
    subject text not null,
    detail text
);
create index audit_log_at on audit_log (at);
