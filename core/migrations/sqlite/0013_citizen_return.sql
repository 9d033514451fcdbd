-- Waiting in the queue and coming back to the web chat (issue 17, citizens).

-- whether the citizen has been told where they stand since the conversation was queued
alter table conversations add column queue_told integer not null default 0;

-- how a citizen can be reached when they are not connected: left by them in the web chat,
-- after reading the privacy notice (consent_at), and used only to answer this conversation
alter table contacts add column email text;
alter table contacts add column phone text;
alter table contacts add column consent_at integer;

-- until when the citizen's chat page is connected (unix ms; 0: not connected)
alter table contacts add column online_until integer not null default 0;
