-- Accounts: passwords that must be changed, the name citizens see, two-factor login.

-- set when an admin resets the password: the user must choose a new one before anything else
alter table users add column must_change_password integer not null default 0;
-- the name shown to citizens on the operator's replies ("Giulia dell'URP"); null: none
alter table users add column display_name text;
-- the base32 TOTP secret (RFC 6238) while two-factor login is being set up or is on
alter table users add column totp_secret text;
-- when two-factor login was confirmed with a first code, unix ms; null: off
alter table users add column totp_enabled_at integer;
-- the last TOTP time step accepted, so a code cannot be used twice
alter table users add column totp_last_step integer not null default 0;

-- one-time recovery codes for two-factor login, stored as SHA-256 hashes
create table recovery_codes (
    id integer primary key,
    user_id integer not null references users (id),
    code_hash text not null,
    used_at integer
);
create index recovery_codes_user on recovery_codes (user_id);

-- a session opened by the password alone, waiting for the second factor: it grants nothing
alter table sessions add column second_factor_pending integer not null default 0;
