-- Announce changes to the published sheets and the offices to every process sharing this
-- database (each rebuilds its matcher). One notification per statement; PostgreSQL folds
-- identical notifications of one transaction into one, delivered at commit.
create or replace function sportello_sheets_changed() returns trigger
language plpgsql as $$
begin
    perform pg_notify('sportello_sheets', tg_table_name);
    return null;
end
$$;

create trigger sheets_changed after insert or update or delete or truncate on sheets
    for each statement execute function sportello_sheets_changed();

create trigger offices_changed after insert or update or delete or truncate on offices
    for each statement execute function sportello_sheets_changed();
