-- Least privilege: every part of the platform connects as its own role, and only migrations
-- and server administration use the superuser.
--
--   cop_loader         (login) the intake (CLI, inbox DAG, the portal's uploads): reads raw and audit,
--                      appends submissions, rows, values and problems; takes the month locks below.
--                      It updates, deletes and truncates nothing.
--   cop_portal         (login) the portal's own tables: accounts, sessions, sign-in limits, checks, and
--                      the audit log (append-only); reads raw and audit for the status pages.
--   cop_transform      (login) dbt, the scores and the reports: owns staging, intermediate, snapshots and
--                      marts; reads raw, audit and scores; writes scores.
--   bi_reader, province_reader_xx (login) read marts only, under a connection limit, a statement
--                      timeout, with no temporary tables, no large objects and no advisory locks.
--
-- security.ensure_roles() is the one home of these privileges: cop.db.migrate runs it after every
-- migration (cop.security.ensure_roles), so tables added by later migrations are covered too.

-- The intake serialises the files of one (province, month) on a row of this table (loaders/intake.py
-- _lock_month). Only cop_loader may lock its rows: an advisory lock, which any login can take, let a
-- reader block a province's intake.
create table if not exists raw.intake_month_locks (
    province_code text not null,
    period        date not null,
    last_taken_at timestamptz not null default now(),
    primary key (province_code, period)
);

create or replace function security.ensure_roles() returns setof text
language plpgsql as $$
declare
    province record;
    reader text;
    readers text[] := array['bi_reader'];
    schema_name text;
    function_name regprocedure;
begin
    perform security.ensure_role('cop_loader', true);
    perform security.ensure_role('cop_portal', true);
    perform security.ensure_role('cop_transform', true);
    perform security.ensure_role('cop_marts_reader', false);
    perform security.ensure_role('cop_all_provinces', false);
    perform security.ensure_role('bi_reader', true);
    execute 'grant cop_marts_reader, cop_all_provinces to bi_reader';

    -- A non-superuser administrator must be able to take on cop_transform (010).
    if not (select rolsuper from pg_roles where rolname = current_user) then
        execute format('grant cop_transform to %I', current_user);
    end if;

    for province in select province_code from raw.ref_provinces order by province_code loop
        reader := 'province_reader_' || lower(province.province_code);
        perform security.ensure_role(reader, true);
        execute format('grant cop_marts_reader to %I', reader);
        insert into security.province_readers (role_name, province_code)
        values (reader, province.province_code)
        on conflict (role_name) do update set province_code = excluded.province_code;
        readers := readers || reader;
    end loop;

    -- Only the platform's roles connect to the warehouse; nobody but them gets temporary tables.
    execute format('revoke all on database %I from public', current_database());
    execute format('grant connect on database %I to cop_loader, cop_portal, cop_transform, cop_marts_reader',
                   current_database());
    execute format('revoke temporary on database %I from cop_loader, cop_portal', current_database());
    execute format('grant temporary on database %I to cop_transform', current_database());  -- dbt's incremental models

    -- Readers: a bounded share of the server's connections (max_connections 200, so the platform keeps
    -- well over 100), a statement timeout, no transaction left open, no spill files beyond 1 GB.
    foreach reader in array readers loop
        execute format('alter role %I connection limit %s', reader, case when reader = 'bi_reader' then 20 else 5 end);
        execute format('alter role %I set statement_timeout = %L', reader, '60s');
        execute format('alter role %I set lock_timeout = %L', reader, '10s');
        execute format('alter role %I set idle_in_transaction_session_timeout = %L', reader, '60s');
        execute format('alter role %I set temp_file_limit = %L', reader, '1GB');
    end loop;

    -- Large objects (a way to write to the server's disk) and advisory locks (a way to block a session
    -- that waits for one) are for no role of the platform in this database.
    for function_name in select p.oid::regprocedure from pg_proc p
                         where p.pronamespace = 'pg_catalog'::regnamespace
                           and (p.proname like 'lo\_%' or p.proname in ('loread', 'lowrite')
                                or p.proname like 'pg\_%advisory\_%') loop
        execute format('revoke execute on function %s from public', function_name);
    end loop;

    -- The warehouse layers belong to the transform role; only marts is visible to readers.
    foreach schema_name in array array['staging', 'intermediate', 'snapshots', 'marts'] loop
        execute format('create schema if not exists %I', schema_name);
        execute format('alter schema %I owner to cop_transform', schema_name);
        execute format('revoke all on schema %I from public', schema_name);
    end loop;
    execute 'grant usage on schema marts to cop_marts_reader';
    execute 'alter default privileges for role cop_transform in schema marts grant select on tables to cop_marts_reader';

    -- Raw and audit: the intake appends, the portal and the transform role read.
    execute 'revoke all on schema raw, audit from public';
    execute 'grant usage on schema raw, audit to cop_loader, cop_portal, cop_transform';
    execute 'grant select on all tables in schema raw, audit to cop_loader, cop_portal, cop_transform';
    execute 'revoke update, delete, truncate, references, trigger on all tables in schema raw, audit from cop_loader';
    execute 'revoke insert on raw.ref_provinces, raw.ref_districts, raw.ref_units, raw.ref_indicators, '
            'raw.ref_fingerprint from cop_loader';
    execute 'grant insert on raw.submissions, raw.return_rows, raw.return_values, audit.problems to cop_loader';
    execute 'grant insert, update on raw.intake_month_locks to cop_loader';  -- update: the row lock
    execute 'grant usage, select on all sequences in schema raw, audit to cop_loader';
    execute 'alter default privileges in schema raw, audit revoke update on tables from cop_loader';
    execute 'alter default privileges in schema raw, audit grant select on tables to cop_portal, cop_transform';
    -- The build refreshes planner statistics of the tables the intake fills (cop/build.py analyze_raw).
    execute 'grant maintain on all tables in schema raw, audit to cop_transform';

    -- Portal: its own tables; the audit log is append-only.
    execute 'revoke all on schema portal from public';
    execute 'grant usage on schema portal to cop_portal';
    execute 'grant select, insert, update, delete on all tables in schema portal to cop_portal';
    execute 'revoke update, delete, truncate on portal.audit_log from cop_portal';
    execute 'revoke delete on portal.users from cop_portal';
    execute 'grant usage, select on all sequences in schema portal to cop_portal';
    execute 'alter default privileges in schema portal grant select, insert, update, delete on tables to cop_portal';
    execute 'alter default privileges in schema portal grant usage, select on sequences to cop_portal';

    -- Scores: written by the rankings (as cop_transform), read by dbt.
    execute 'grant usage on schema scores to cop_transform';
    execute 'grant select, insert, delete on all tables in schema scores to cop_transform';
    execute 'grant usage, select on all sequences in schema scores to cop_transform';
    execute 'alter default privileges in schema scores grant select, insert, delete on tables to cop_transform';

    -- Readers see the role -> province map (what the row-level policies consult) and nothing else here.
    execute 'revoke all on schema security from public';
    execute 'grant usage on schema security to cop_marts_reader, cop_transform';
    execute 'grant select on security.province_readers to cop_marts_reader, cop_transform';

    return query select rolname::text from pg_roles
                 where rolcanlogin and (rolname in ('cop_loader', 'cop_portal', 'cop_transform', 'bi_reader')
                                        or rolname in (select role_name from security.province_readers))
                 order by 1;
end $$;

revoke all on function security.ensure_roles() from public;

-- A reader can SET its own statement_timeout away (no role setting can stop that), and its long query
-- then holds up the build, which must lock the marts it replaces. The build (cop/build.py) first ends
-- every reader session that has run a statement, or sat in a transaction, longer than the reader's
-- statement_timeout (or `older_than`).
create or replace function security.end_overdue_reader_sessions(older_than interval default null)
returns integer
language sql security definer set search_path = pg_catalog as $$
    select count(pg_terminate_backend(a.pid))::integer
    from pg_stat_activity a
    join pg_roles r on r.rolname = a.usename
    cross join lateral (
        select coalesce(older_than, (select split_part(c, '=', 2)::interval from unnest(r.rolconfig) c
                                     where c like 'statement_timeout=%'), interval '60 seconds') as allowed
    ) timeout
    where a.datname = current_database()
      and (r.rolname = 'bi_reader' or r.rolname in (select role_name from security.province_readers))
      and ((a.state = 'active' and a.query_start < now() - timeout.allowed)
           or (a.state like 'idle in transaction%' and a.state_change < now() - timeout.allowed))
$$;
revoke all on function security.end_overdue_reader_sessions(interval) from public;
grant execute on function security.end_overdue_reader_sessions(interval) to cop_transform;

select security.ensure_roles();
