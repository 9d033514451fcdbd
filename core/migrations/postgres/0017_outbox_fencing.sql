-- Fencing for the outbox's leases. Every claim takes a new lease number, and a dispatcher's
-- late result (after its lease ran out and another instance claimed the row) is recorded only
-- while the number is still its own. The parts of a split message already delivered are kept
-- with the row, so that a retry after a crash between parts sends only the rest.
alter table outbox add column lease bigint not null default 0;
alter table outbox add column parts_sent bigint not null default 0;
