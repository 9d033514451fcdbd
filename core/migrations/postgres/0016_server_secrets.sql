-- Secrets the server makes for itself on first use and keeps, so that what it signs survives
-- a restart and is accepted by every instance on this database (e.g. the web chat's personal
-- resume links). Never shown, never logged.
create table server_secrets (
    -- what the secret is for, e.g. 'webchat-resume'
    name text primary key,
    -- 256 random bits, URL-safe base64
    value text not null,
    created_at bigint not null
);
