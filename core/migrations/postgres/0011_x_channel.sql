-- The X channel's OAuth 2.0 user-context tokens. X refresh tokens are single use: every
-- refresh returns a new pair, which is written here in one transaction before it is used, so
-- that a restart (or another instance) continues with the pair X expects next.
create table x_tokens (
    -- the office account's user id
    account text primary key,
    access_token text not null,
    refresh_token text not null,
    -- when the access token expires, unix ms (0: unknown, refresh before use)
    expires_at bigint not null,
    -- `ok`, or `refused` once X answered invalid_grant: the office must authorize again
    state text not null check (state in ('ok', 'refused')),
    updated_at bigint not null
);

-- What X said about the citizens who wrote: their handle, to address public replies, and
-- whether they accept direct messages from the office, to keep operators' answers private.
create table x_users (
    user_id text primary key,
    username text not null,
    name text not null,
    receives_dm bigint not null,
    updated_at bigint not null
);

-- A citizen's reply to one of the office's posts (👍, 👎, a rating) is traced back to the
-- answer it judges through the post's id.
-- (the index outbox_platform_ref of migration 0010 serves this lookup)

-- `sportello x authorize`: the PKCE verifier of the authorization under way, until
-- `sportello x authorize --code CODE` completes it.
create table x_authorizations (
    account text primary key,
    verifier text not null,
    created_at bigint not null
);
