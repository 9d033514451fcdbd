-- The operators' queue: conversations waiting for a person (queued or assigned), oldest
-- first, read a page at a time without sorting every open conversation.
create index conversations_waiting on conversations (escalated_at, id) where status in ('queued', 'assigned');

-- The last thing each citizen wrote, shown in the queue.
create index messages_citizen on messages (conversation_id, id) where author = 'citizen';
