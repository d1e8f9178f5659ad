-- The portal reads a province user's marts as that province's reader (SET LOCAL ROLE province_reader_xx
-- inside the request's transaction), so that row-level security, not only the portal's own checks, keeps a
-- province to its own stations (station scorecards: portal/publications.py). cop_portal may switch to each
-- reader but does not inherit them (it reads every province as itself, through cop_all_provinces).
-- cop.security.ensure_roles calls this after every migration, so a province added later is covered too.
create or replace function security.let_portal_read_as_provinces() returns void
language plpgsql as $$
declare
    reader record;
begin
    for reader in select role_name from security.province_readers order by role_name loop
        execute format('grant %I to cop_portal with inherit false, set true', reader.role_name);
    end loop;
end $$;

revoke all on function security.let_portal_read_as_provinces() from public;
