-- Database roles and the security model of the warehouse.
--
--   cop_loader         (login) writes raw and audit (intake).
--   cop_transform      (login) owns staging, intermediate, snapshots and marts; reads raw and audit.
--                      dbt runs as this role (profiles.yml: role), so every relation it builds is its own.
--   cop_marts_reader   (group) may read marts and nothing else.
--   cop_all_provinces  (group) sees every province's rows in marts (row-level security).
--   bi_reader          (login) = cop_marts_reader + cop_all_provinces: the federal BI account.
--   province_reader_xx (login, one per province in raw.ref_provinces) = cop_marts_reader, and sees only
--                      rows of its own province (security.province_readers maps role -> province).
--
-- Roles are cluster-wide and created idempotently by security.ensure_roles(); passwords are set by
-- cop.security (generated once per COP_HOME), never here. Row-level security policies are (re)applied
-- to each mart by dbt (macro cop_apply_row_security) because dbt recreates tables on every build.

create schema if not exists security;

create table if not exists security.province_readers (
    role_name     text primary key,
    province_code text not null unique
);

create or replace function security.ensure_role(role_name text, can_login boolean) returns void
language plpgsql as $$
begin
    if not exists (select 1 from pg_roles where rolname = role_name) then
        begin
            execute format('create role %I %s', role_name, case when can_login then 'login' else 'nologin' end);
        exception when duplicate_object or unique_violation then
            null;  -- created meanwhile by another session
        end;
    end if;
end $$;

-- Creates the roles (province readers for every province of the registry), their memberships and
-- the schema privileges that do not depend on dbt having run. Safe to call any number of times.
create or replace function security.ensure_roles() returns setof text
language plpgsql as $$
declare
    province record;
    reader text;
    schema_name text;
begin
    perform security.ensure_role('cop_loader', true);
    perform security.ensure_role('cop_transform', true);
    perform security.ensure_role('cop_marts_reader', false);
    perform security.ensure_role('cop_all_provinces', false);
    perform security.ensure_role('bi_reader', true);
    execute 'grant cop_marts_reader, cop_all_provinces to bi_reader';

    -- The session that runs dbt takes on cop_transform (a superuser may anyway).
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
    end loop;

    -- The warehouse layers belong to the transform role; only marts is visible to readers.
    foreach schema_name in array array['staging', 'intermediate', 'snapshots', 'marts'] loop
        execute format('create schema if not exists %I', schema_name);
        execute format('alter schema %I owner to cop_transform', schema_name);
        execute format('revoke all on schema %I from public', schema_name);
    end loop;
    execute 'grant usage on schema marts to cop_marts_reader';
    -- Tables dbt creates in marts are readable by readers from birth (dbt grants say so again).
    execute 'alter default privileges for role cop_transform in schema marts grant select on tables to cop_marts_reader';

    -- Raw and audit: the loader writes (append-only: no delete), the transformer reads.
    execute 'grant usage on schema raw, audit to cop_loader, cop_transform';
    execute 'grant select, insert, update on all tables in schema raw, audit to cop_loader';
    execute 'grant usage, select on all sequences in schema raw, audit to cop_loader';
    execute 'grant select on all tables in schema raw, audit to cop_transform';
    execute 'alter default privileges in schema raw, audit grant select, insert, update on tables to cop_loader';
    execute 'alter default privileges in schema raw, audit grant usage, select on sequences to cop_loader';
    execute 'alter default privileges in schema raw, audit grant select on tables to cop_transform';

    -- Readers see the role -> province map (it is what the policies consult) and nothing else here.
    execute 'revoke all on schema security from public';
    execute 'grant usage on schema security to cop_marts_reader, cop_transform';
    execute 'grant select on security.province_readers to cop_marts_reader, cop_transform';

    -- No reader writes anywhere: no temporary tables either (loader and transformer need them).
    execute format('revoke temporary on database %I from public', current_database());
    execute format('grant temporary on database %I to cop_loader, cop_transform', current_database());

    return query select rolname::text from pg_roles
                 where rolcanlogin and (rolname in ('cop_loader', 'cop_transform', 'bi_reader')
                                        or rolname in (select role_name from security.province_readers))
                 order by 1;
end $$;

-- Used by the row-level security policies on marts: evaluated once per query (as an init plan).
create or replace function security.sees_all_provinces() returns boolean
language sql stable as $$
    select pg_has_role(current_user, 'cop_all_provinces', 'member')
$$;

create or replace function security.visible_provinces() returns text[]
language sql stable as $$
    select coalesce(array_agg(province_code order by province_code), '{}')
    from security.province_readers
    where pg_has_role(current_user, role_name, 'member')
$$;

revoke all on function security.ensure_role(text, boolean), security.ensure_roles() from public;

select security.ensure_roles();
