-- Sportello schema for PostgreSQL. Times are unix milliseconds (UTC) in BIGINT columns, so that
-- the same queries and the same Rust types work on SQLite and PostgreSQL.

-- one row per identity on a channel (a Telegram chat, an X account, an email address, a web chat session)
create table contacts (
    id bigint generated always as identity primary key,
    channel text not null,
    external_id text not null,
    display_name text not null default '',
    unreachable bigint not null default 0,
    unreachable_reason text,
    created_at bigint not null,
    unique (channel, external_id)
);

create table offices (
    id text primary key,
    name text not null,
    email text not null default '',
    phone text not null default '',
    address text not null default '',
    hours text not null default '',
    updated_at bigint not null
);

create table users (
    id bigint generated always as identity primary key,
    username text not null unique,
    role text not null check (role in ('operator', 'editor', 'admin')),
    password_hash text not null,
    disabled bigint not null default 0,
    created_at bigint not null
);

-- API tokens are stored as SHA-256 hashes; the token itself is shown once at creation
create table api_tokens (
    id bigint generated always as identity primary key,
    name text not null,
    role text not null check (role in ('operator', 'editor', 'admin')),
    token_hash text not null unique,
    created_at bigint not null,
    last_used_at bigint,
    revoked_at bigint
);

create table conversations (
    id bigint generated always as identity primary key,
    contact_id bigint not null references contacts (id),
    channel text not null,
    thread text not null,
    subject text,
    status text not null check (status in ('bot', 'queued', 'assigned', 'resolved')),
    assignee_id bigint references users (id),
    office_id text references offices (id),
    -- the citizen got the one short "an operator will answer" acknowledgement
    acknowledged bigint not null default 0,
    opened_at bigint not null,
    escalated_at bigint,
    first_response_at bigint,
    resolved_at bigint,
    last_message_at bigint not null
);
-- at most one open conversation per channel thread
create unique index conversations_open_thread on conversations (channel, thread) where status <> 'resolved';
create index conversations_status on conversations (status, escalated_at);
create index conversations_contact on conversations (contact_id);

create table messages (
    id bigint generated always as identity primary key,
    conversation_id bigint not null references conversations (id),
    channel text not null,
    direction text not null check (direction in ('in', 'out')),
    author text not null check (author in ('citizen', 'bot', 'operator')),
    author_user_id bigint references users (id),
    -- the platform's id of an inbound message, unique within its channel
    platform_id text,
    text text not null,
    -- the platform's original bytes when they were not valid UTF-8 or held NUL characters
    raw bytea,
    attachments text,
    decision text check (decision in ('answer', 'clarify', 'smalltalk', 'handoff')),
    reason text,
    confidence double precision,
    candidates text,
    created_at bigint not null
);
create unique index messages_platform on messages (channel, platform_id);
create index messages_conversation on messages (conversation_id, id);
create index messages_created on messages (created_at);

create table outbox (
    id bigint generated always as identity primary key,
    message_id bigint not null references messages (id),
    conversation_id bigint not null references conversations (id),
    channel text not null,
    recipient text not null,
    thread text not null,
    subject text,
    reply_to text,
    text text not null,
    buttons text,
    state text not null check (state in ('pending', 'sending', 'sent', 'failed')),
    attempts bigint not null default 0,
    due_at bigint not null,
    locked_until bigint,
    last_error text,
    platform_ref text,
    created_at bigint not null,
    sent_at bigint
);
create index outbox_due on outbox (state, due_at);
create index outbox_conversation on outbox (conversation_id);

-- Telegram offset, X since_id, IMAP UIDVALIDITY/UID: where each channel resumes
create table channel_cursors (
    channel text primary key,
    cursor text not null,
    updated_at bigint not null
);

-- the current version of each sheet; `data` is the sheet as JSON
create table sheets (
    id text primary key,
    title text not null,
    status text not null check (status in ('draft', 'published')),
    data text not null,
    revision bigint not null,
    updated_at bigint not null,
    updated_by text
);

create table sheet_revisions (
    id bigint generated always as identity primary key,
    sheet_id text not null,
    revision bigint not null,
    data text not null,
    author text,
    created_at bigint not null,
    unique (sheet_id, revision)
);

create table audit_log (
    id bigint generated always as identity primary key,
    at bigint not null,
    actor text not null,
    action text not null,
    subject text not null,
    detail text
);
create index audit_log_at on audit_log (at);
