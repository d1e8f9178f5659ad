-- The COP performance index as computed by publishing.rankings.refresh_rankings (Python: empirical
-- Bayes and Monte Carlo), read by dbt into the marts rpt_unit_scores, rpt_unit_rankings and rpt_awards.
-- runs keeps every run (seed, draws, the scoring config and its sha256) so a ranking can be reproduced;
-- the other tables hold the latest run of each year (a refresh replaces the year in one transaction).
-- The tables exist from the start (empty) so that a full dbt build never lacks its sources.

create schema if not exists scores;

create table if not exists scores.runs (
    run_id          bigint generated always as identity primary key,
    year            integer not null,
    seed            bigint not null,
    draws           integer not null check (draws > 0),
    config_sha256   text not null,
    config          text not null,
    units_expected  integer not null,
    units_ranked    integer not null,
    created_at      timestamptz not null default now()
);

create table if not exists scores.unit_rankings (
    run_id                 bigint not null references scores.runs (run_id),
    year                   integer not null,
    unit_code              text not null,
    province_code          text not null,
    district_key           text,
    urban_rural            text not null,
    population             integer not null,
    peer_group             text not null,
    months_expected        integer not null,
    months_reported        integer not null,
    is_ranked              boolean not null,
    not_ranked_reason      text,
    partnership_score      numeric,
    problem_solving_score  numeric,
    organisational_transformation_score numeric,
    outcomes_score         numeric,
    index_score            numeric,
    point_rank             integer,
    median_rank            integer,
    rank_low               integer,
    rank_high              integer,
    province_median_rank   integer,
    province_rank_low      integer,
    province_rank_high     integer,
    national_award         boolean not null,
    province_award         boolean not null,
    primary key (year, unit_code),
    check (is_ranked = (not_ranked_reason is null))
);

create table if not exists scores.unit_indicator_scores (
    run_id              bigint not null references scores.runs (run_id),
    year                integer not null,
    unit_code           text not null,
    province_code       text not null,
    peer_group          text not null,
    indicator_code      text not null,
    indicator_label     text not null,
    pillar              text not null,
    direction           text not null check (direction in ('higher', 'lower')),
    months_used         integer not null,
    numerator           numeric not null,
    exposure            numeric not null,
    raw_value           numeric,
    shrunk_value        numeric,
    previous_value      numeric,
    weight_on_own_data  numeric,
    z_score             numeric,
    primary key (year, unit_code, indicator_code)
);

create table if not exists scores.awards (
    run_id        bigint not null references scores.runs (run_id),
    year          integer not null,
    award_scope   text not null check (award_scope in ('national', 'province')),
    province_code text not null,
    unit_code     text not null,
    award         text not null,
    median_rank   integer not null,
    rank_low      integer not null,
    rank_high     integer not null,
    rule          text not null,
    primary key (year, award_scope, unit_code)
);

-- dbt (cop_transform) reads these to build the score marts; nobody else needs them.
revoke all on schema scores from public;
grant usage on schema scores to cop_transform;
grant select on all tables in schema scores to cop_transform;
alter default privileges in schema scores grant select on tables to cop_transform;
