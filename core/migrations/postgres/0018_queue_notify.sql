-- Announce changes to the operators' queue to every process sharing this database, so that
-- an operator's open queue page follows what another instance did (a handoff, a claim, a
-- citizen's new message). Only rows in, entering or leaving the queue notify; the payload is
-- the conversation's id, and receivers read the store.
create or replace function sportello_queue_changed() returns trigger
language plpgsql as $$
begin
    perform pg_notify('sportello_queue', new.id::text);
    return null;
end
$$;

create trigger queue_entered after insert on conversations
    for each row when (new.status in ('queued', 'assigned'))
    execute function sportello_queue_changed();

create trigger queue_changed after update on conversations
    for each row when (new.status in ('queued', 'assigned') or old.status in ('queued', 'assigned'))
    execute function sportello_queue_changed();
