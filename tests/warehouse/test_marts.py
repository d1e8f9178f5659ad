"""The dbt warehouse over a small known data set (see conftest.scenario): what the marts say,
that it reconciles with raw, that a full refresh changes nothing, and who may read what."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg
import pytest
import yaml

from cop import db
from cop.build import build
from cop.paths import DBT_PROJECT_DIR
from cop.spec import load_form
from warehouse_checks import (completeness_from_mart, completeness_from_raw, indicator_totals_from_fact,
                              indicator_totals_from_raw, mart_checksums, mart_tables)

DEC, JAN = dt.date(2024, 12, 1), dt.date(2025, 1, 1)


def one(conn, query, *params):
    return conn.execute(query, params).fetchone()


def test_build_has_no_failures_or_deprecations(built):
    assert built.failures == []
    assert built.deprecations == []
    assert built.statuses.get("pass", 0) > 50 and built.statuses.get("success", 0) > 20


def test_completeness_of_the_known_cases(built, warehouse_conn):
    ic = {month: one(warehouse_conn, "select units_expected, units_reported, units_missing, units_on_time, "
                     "units_late, reporting_rate, on_time_rate, accepted_versions "
                     "from marts.rpt_reporting_completeness where province_code = 'IC' and month = %s", month)
          for month in (DEC, JAN)}
    # December: 27 open, 26 sent on time. January: v1 on time without 026/027, v2 late adds 026.
    assert ic[DEC][:5] == (27, 26, 1, 26, 0)
    assert ic[JAN][:5] == (27, 26, 1, 25, 1)
    assert ic[JAN][5:] == (Decimal("0.9630"), Decimal("0.9259"), 2)
    # Punjab January arrived after its due date: every reported unit is late.
    pb = one(warehouse_conn, "select units_reported, units_on_time, units_late from marts.rpt_reporting_completeness "
             "where province_code = 'PB' and month = %s", JAN)
    assert pb == (6, 0, 6)
    # A province that sent nothing (or only a duplicate) that month: all missing.
    sd = one(warehouse_conn, "select units_expected, units_reported, units_missing, accepted_versions "
             "from marts.rpt_reporting_completeness where province_code = 'SD' and month = %s", JAN)
    assert sd[0] > 0 and sd[1:] == (0, sd[0], 0)


def test_completeness_reconciles_with_raw(built, warehouse_conn):
    assert completeness_from_mart(warehouse_conn) == completeness_from_raw(warehouse_conn)


def test_fact_totals_equal_latest_accepted_raw(built, warehouse_conn):
    from_raw = indicator_totals_from_raw(warehouse_conn)
    assert set(from_raw) == set(load_form().field_names)
    assert indicator_totals_from_fact(warehouse_conn) == from_raw
    # The wide fact holds the same known values and sums (dbt test assert_wide_fact_equals_long_fact too).
    for indicator, (_, known, total) in from_raw.items():
        assert one(warehouse_conn, f'select count("{indicator}"), sum("{indicator}") from marts.fct_unit_month') \
            == (known, total)


def test_unit_in_the_district_of_each_month(built, warehouse_conn):
    districts = dict(warehouse_conn.execute(
        "select month, district_key from marts.fct_unit_month where unit_code = 'PB-MZG-015'").fetchall())
    assert districts == {DEC: "PB-MZG", JAN: "PB-KTA"}
    versions = one(warehouse_conn, "select count(*) from marts.dim_unit where unit_code = 'PB-MZG-015'")
    assert versions == (2,)


def test_unknown_is_null_never_zero_and_rates_use_the_population(built, warehouse_conn):
    unknown = one(warehouse_conn, "select value, value_per_100k from marts.fct_unit_month_indicator "
                  "where unit_code = 'IC-ISB-001' and month = %s and indicator_code = 'youth_participants'", DEC)
    assert unknown == (None, None)
    left_out = one(warehouse_conn, "select count(*) from marts.fct_unit_month_indicator where unit_code = "
                   "'IC-ISB-002' and indicator_code = 'social_media_posts'")
    assert left_out == (0,)
    assert one(warehouse_conn, "select social_media_posts from marts.fct_unit_month "
               "where unit_code = 'IC-ISB-002' and month = %s", DEC) == (None,)
    value, rate, population = one(
        warehouse_conn, "select f.value, f.value_per_100k, u.population from marts.fct_unit_month_indicator f "
        "join marts.dim_unit u using (unit_version_key) where f.unit_code = 'IC-ISB-003' and f.month = %s "
        "and f.indicator_code = 'homicide'", JAN)
    assert rate == round(value * 100000 / population, 6)
    assert one(warehouse_conn, "select count(value_per_100k) from marts.fct_unit_month_indicator "
               "where indicator_code = 'median_days_to_resolve'") == (0,)


def test_revision_is_what_the_facts_use(built, warehouse_conn, scenario):
    used = {row[0] for row in warehouse_conn.execute(
        "select distinct submission_id from marts.fct_unit_month_indicator where province_code = 'IC' "
        "and month = %s", (JAN,))}
    assert used == {scenario.ids["ic_jan_v2"]}


def test_local_indicators_stay_out_of_national_facts(built, warehouse_conn):
    national = {row[0] for row in warehouse_conn.execute("select distinct indicator_code from marts.fct_unit_month_indicator")}
    assert not {c for c in national if c.startswith(("ic_", "pb_"))}
    local = dict(warehouse_conn.execute("select province_code, array_agg(distinct indicator_code order by indicator_code) "
                                        "from marts.rpt_local_indicators group by province_code").fetchall())
    assert local == {"IC": ["ic_safe_city_alerts"], "PB": ["pb_dolphin_patrol_hours", "pb_khidmat_markaz_services"]}
    assert one(warehouse_conn, "select count(*) from marts.dim_indicator where scope = 'national'") == (
        len(load_form().fields),)


def test_submission_history_for_reviewers(built, warehouse_conn, scenario):
    rows = {row[0]: row[1:] for row in warehouse_conn.execute(
        "select submission_id, status, revision_number, is_latest_accepted, superseded_by_submission_id, "
        "errors_recorded, warnings_recorded, received_by_due_date from marts.rpt_submission_history")}
    ids = scenario.ids
    assert rows[ids["ic_jan_v1"]] == ("accepted", 1, False, ids["ic_jan_v2"], 0, 0, True)
    assert rows[ids["ic_jan_v2"]] == ("accepted", 2, True, None, 0, 1, False)
    assert rows[ids["ic_jan_rejected"]] == ("rejected", None, False, None, 3, 1, True)
    assert rows[ids["sd_jan_duplicate"]][0] == "duplicate"
    by_rule = dict(warehouse_conn.execute(
        "select rule, problem_count from marts.rpt_submission_rule_counts where submission_id = %s",
        (ids["ic_jan_rejected"],)).fetchall())
    assert by_rule == {"E040": 2, "X101": 1, "W303": 1}


def test_units_months_reported_in_a_year(built, warehouse_conn):
    row = one(warehouse_conn, "select months_expected, months_reported, months_on_time, months_late "
              "from marts.rpt_unit_reporting_year where unit_code = 'IC-ISB-026' and year = 2025")
    assert row == (1, 1, 0, 1)


def test_programme_start_matches_the_form():
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    assert project["vars"]["programme_start"] == f"{load_form().programme_start}-01"


def test_every_mart_has_an_enforced_contract():
    for path in (DBT_PROJECT_DIR / "models/marts").glob("*.sql"):
        spec = yaml.safe_load(path.with_suffix(".yml").read_text())
        assert spec["models"][0]["name"] == path.stem
        assert all("data_type" in column for column in spec["models"][0]["columns"]), path.name


# ---------------------------------------------------------------- security


def connect_as(role: str) -> psycopg.Connection:
    return psycopg.connect(db.role_url(role), autocommit=True)


@pytest.mark.parametrize("relation", ["raw.submissions", "raw.return_values", "audit.problems",
                                      "staging.stg_raw__submissions", "intermediate.int_unit_month_values",
                                      "snapshots.snap_registry_units"])
def test_bi_reader_is_refused_outside_marts(built, relation):
    with connect_as("bi_reader") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"select * from {relation} limit 1")


@pytest.mark.parametrize("statement", [
    "insert into marts.dim_month (month) values ('1999-01-01')",
    "update marts.dim_province set capital = 'x'",
    "delete from marts.fct_unit_month_indicator",
    "truncate marts.dim_unit",
    "create table marts.mine (x int)",
    "create table public.mine (x int)",
    "create temporary table mine (x int)",
    "drop table marts.dim_month",
])
def test_bi_reader_cannot_write(built, statement):
    with connect_as("bi_reader") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)


def test_transform_role_owns_the_marts_and_the_loader_writes_only_raw(built, warehouse_conn):
    owners = {row[0] for row in warehouse_conn.execute(
        "select distinct tableowner from pg_tables where schemaname in ('marts', 'snapshots')")}
    assert owners == {"cop_transform"}
    with connect_as("cop_loader") as conn:
        assert conn.execute("select count(*) from raw.submissions").fetchone()[0] > 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select 1 from marts.dim_month limit 1")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("delete from raw.return_values")


def _rows_by_province(conn: psycopg.Connection) -> dict[str, set[str]]:
    seen = {}
    for table in mart_tables(conn):
        has_province = conn.execute("select 1 from information_schema.columns where table_schema = 'marts' "
                                    "and table_name = %s and column_name = 'province_code'", (table,)).fetchone()
        if has_province:
            seen[table] = {row[0] for row in conn.execute(f'select distinct province_code from marts."{table}"')}
    return seen


# Aggregates and reference data, no unit's rows (meta readable_by_every_province): benchmarks for every province.
READABLE_BY_EVERY_PROVINCE = {"rpt_benchmark_month", "dim_indicator_province", "rpt_population_year"}


def test_province_reader_sees_only_its_province(built, warehouse_conn):
    everything = _rows_by_province(warehouse_conn)
    assert "PB" in everything["fct_unit_month_indicator"] and "PB" in everything["rpt_local_indicators"]
    with connect_as("province_reader_sd") as conn:
        seen = _rows_by_province(conn)
        assert set(seen) == set(everything)
        for table, provinces in seen.items():
            if table in READABLE_BY_EVERY_PROVINCE:
                assert provinces == everything[table], table
            else:
                assert provinces <= {"SD"}, table
        assert seen["rpt_reporting_completeness"] == {"SD"}
        assert one(conn, "select count(*) from marts.fct_unit_month where province_code = 'PB'") == (0,)
        assert one(conn, "select count(*) from marts.dim_indicator where scope = 'national'")[0] == len(load_form().fields)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select * from raw.return_values limit 1")
    with connect_as("bi_reader") as conn:
        assert _rows_by_province(conn) == everything


def test_full_refresh_gives_identical_marts_and_keeps_grants(built, warehouse_conn):
    before = mart_checksums(warehouse_conn)
    assert before["fct_unit_month_indicator"][0] > 0
    result = build(full_refresh=True)
    assert result.success, result.failure_report()
    assert result.deprecations == []
    assert mart_checksums(warehouse_conn) == before
    with connect_as("bi_reader") as conn:
        assert one(conn, "select count(*) from marts.fct_unit_month_indicator")[0] == before["fct_unit_month_indicator"][0]
    with connect_as("province_reader_sd") as conn:
        assert one(conn, "select count(*) from marts.fct_unit_month_indicator where province_code <> 'SD'") == (0,)
