-- Releases: published figures that never change afterwards (publishing/release.py).
--
-- 1. Scoring runs keep their history: a refresh adds a run beside the earlier ones instead of replacing the
--    year (the score marts show the latest run of each year), so a release can cite its run for ever.
-- 2. releases.releases: one row per release (year, cut-off, scoring run, spec and scoring config hashes).
--    releases.submissions: the exact version of each province-month current at the cut-off, and its review
--    state then. releases.tables: each frozen table's row count and content checksum at freeze time.
--    releases.outputs: each file produced from the release (report, rankings) and its sha256.
-- 3. The frozen figures live in release-keyed copies of the marts, releases.<mart> (release_id first),
--    created by publishing/release.py when first needed. Every table here is append-only (trigger) and readable by
--    the marts readers; province readers see only their province's rows (row-level security).

alter table scores.unit_rankings drop constraint if exists unit_rankings_pkey;
alter table scores.unit_rankings add primary key (run_id, unit_code);
alter table scores.unit_indicator_scores drop constraint if exists unit_indicator_scores_pkey;
alter table scores.unit_indicator_scores add primary key (run_id, unit_code, indicator_code);
alter table scores.awards drop constraint if exists awards_pkey;
alter table scores.awards add primary key (run_id, award_scope, unit_code);
create index if not exists runs_year on scores.runs (year, run_id desc);

create schema if not exists releases;
revoke all on schema releases from public;

create table if not exists releases.releases (
    release_id            bigint generated always as identity primary key,
    year                  integer not null,
    label                 text not null unique,
    cut_off               timestamptz not null,
    created_at            timestamptz not null default now(),
    created_by            text not null,
    scoring_run_id        bigint not null references scores.runs (run_id),
    spec_sha256           text not null check (spec_sha256 ~ '^[0-9a-f]{64}$'),
    scoring_config_sha256 text not null check (scoring_config_sha256 ~ '^[0-9a-f]{64}$'),
    note                  text
);

create table if not exists releases.submissions (
    release_id    bigint not null references releases.releases (release_id),
    province_code text not null,
    period        date not null,
    submission_id bigint not null references raw.submissions (submission_id),
    version       integer not null,
    review_state  text not null,
    is_locked     boolean not null,
    primary key (release_id, province_code, period)
);

create table if not exists releases.tables (
    release_id  bigint not null references releases.releases (release_id),
    table_name  text not null,
    row_count   bigint not null,
    sha256      text not null,
    primary key (release_id, table_name)
);

create table if not exists releases.outputs (
    release_id  bigint not null references releases.releases (release_id),
    file_name   text not null,
    sha256      text not null,
    bytes       bigint not null,
    written_at  timestamptz not null default now(),
    primary key (release_id, file_name)
);

create or replace function releases.refuse_change() returns trigger
language plpgsql as $$
begin
    raise exception 'a published release never changes: % on %.% refused', tg_op, tg_table_schema, tg_table_name;
end $$;

do $$
declare
    name text;
begin
    foreach name in array array['releases', 'submissions', 'tables', 'outputs'] loop
        execute format('drop trigger if exists append_only on releases.%I', name);
        execute format('create trigger append_only before update or delete on releases.%I '
                       'for each statement execute function releases.refuse_change()', name);
        execute format('drop trigger if exists no_truncate on releases.%I', name);
        execute format('create trigger no_truncate before truncate on releases.%I '
                       'for each statement execute function releases.refuse_change()', name);
    end loop;
end $$;

grant usage on schema releases to cop_marts_reader;
grant select on all tables in schema releases to cop_marts_reader;
alter default privileges in schema releases grant select on tables to cop_marts_reader;

alter table releases.submissions enable row level security;
drop policy if exists province_rows on releases.submissions;
create policy province_rows on releases.submissions for select
    using ((select security.sees_all_provinces())
           or province_code = any ((select security.visible_provinces())::text[]));
