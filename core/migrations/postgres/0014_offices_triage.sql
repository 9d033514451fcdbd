-- Routing to offices and the editors' learning queue.

-- Operators belong to one or more offices; a conversation tagged with an office waits in
-- that office's queue.
create table office_members (
    office_id text not null references offices (id),
    user_id bigint not null references users (id),
    primary key (office_id, user_id)
);
create index office_members_user on office_members (user_id);

-- Emails to offices are sent by the email channel: a lease so that one process sends each,
-- the attempts so far and the last failure.
alter table office_notifications add column attempts bigint not null default 0;
alter table office_notifications add column locked_until bigint;
alter table office_notifications add column last_error text;

-- Questions nothing matched that an editor has dealt with without a phrasing: dismissed, or
-- "not ours" with the referral text the citizen should read instead.
create table learn_verdicts (
    question text primary key,
    verdict text not null check (verdict in ('dismissed', 'not_ours')),
    referral text,
    decided_by text not null,
    decided_at bigint not null
);
