-- BI readers (bi_reader and each province_reader_xx) connect straight into the marts: their search_path is
-- marts, so a BI tool or a plain `select * from dim_province` finds the tables without a schema prefix.
-- cop.security.ensure_roles runs this after security.ensure_roles() (070), so a reader created for a new
-- province gets it too.
create or replace function security.ensure_reader_defaults() returns void
language plpgsql as $$
declare
    reader text;
begin
    for reader in select 'bi_reader' union all select role_name from security.province_readers loop
        execute format('alter role %I set search_path = marts', reader);
    end loop;
end $$;

revoke all on function security.ensure_reader_defaults() from public;
