-- Issue 13: what a scoring run adds beside the ranks, read by dbt into the marts.
-- 1. scores.awards: a unit that qualifies for an award whose year has a serious recording-integrity flag
--    (marts.rpt_integrity_flags_unit_year.is_serious) is held back: status 'withheld', with the evidence.
-- 2. scores.indicator_levels: each indicator's level (the index's and the context's: recorded crime) for
--    the nation and each province, by year and by month, for the run's year and the year before: the
--    report's changes and trends come from here (marts.rpt_indicator_levels), never recomputed.
-- 3. scores.scenario_ranks: each ranked unit's rank under the alternative choices of the sensitivity
--    analysis (weights, normalisation, aggregation, peer groups, imputation, shrinkage), point estimates.
-- Privileges: cop/sql/070 gives cop_transform select, insert and delete on every table of schema scores.

alter table scores.awards add column if not exists status text not null default 'awarded'
    check (status in ('awarded', 'withheld'));
alter table scores.awards add column if not exists withheld_reason text;
alter table scores.awards drop constraint if exists awards_withheld_has_reason;
alter table scores.awards add constraint awards_withheld_has_reason
    check ((status = 'withheld') = (withheld_reason is not null));

create table if not exists scores.indicator_levels (
    run_id          bigint not null references scores.runs (run_id),
    year            integer not null,                       -- the run's year
    area_kind       text not null check (area_kind in ('nation', 'province')),
    area_code       text not null,                          -- PK for the nation, else the province code
    period_kind     text not null check (period_kind in ('year', 'month')),
    period          date not null,                          -- 1 January of the year, or the month
    indicator_code  text not null,
    indicator_label text not null,
    pillar          text not null,                          -- 'context': published, not scored
    kind            text not null,
    direction       text not null check (direction in ('higher', 'lower', 'neutral')),
    numerator       numeric not null,
    exposure        numeric not null check (exposure > 0),
    value           numeric not null,                       -- numerator / exposure (a year's rate: per year)
    units_reporting integer not null,
    primary key (run_id, area_kind, area_code, period_kind, period, indicator_code)
);

create table if not exists scores.scenario_ranks (
    run_id          bigint not null references scores.runs (run_id),
    year            integer not null,
    scenario        text not null,
    scenario_label  text not null,
    unit_code       text not null,
    province_code   text not null,
    index_score     numeric not null,
    national_rank   integer not null,
    province_rank   integer not null,
    national_cut_off integer not null,                      -- the award rule's worst rank in the field
    province_cut_off integer not null,
    primary key (run_id, scenario, unit_code)
);

grant select, insert, delete on scores.indicator_levels, scores.scenario_ranks to cop_transform;
