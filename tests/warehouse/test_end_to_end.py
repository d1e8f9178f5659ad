"""End to end: generated province files -> the intake (loaders.intake.submit_file) -> dbt build.

Checks the warehouse's promises on realistic data: completeness reconciles with the submissions, the
fact's totals equal the latest accepted raw rows, a full refresh gives byte-identical marts, and the
readers see only what they may."""
from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from cop import db
from cop.build import build
from hub.generate import generate_returns, submit_generated
from warehouse_checks import (completeness_from_mart, completeness_from_raw, indicator_totals_from_fact,
                              indicator_totals_from_raw, mart_checksums)

pytestmark = pytest.mark.slow

FIRST_PERIOD = "2025-09"  # the last four months of the generated year keep the test to a few minutes


@pytest.fixture(scope="module")
def submitted(warehouse_url, tmp_path_factory):
    out = tmp_path_factory.mktemp("returns")
    entries = [e for e in generate_returns(out, years=1, seed=11, end=dt.date(2025, 12, 1), progress=False)
               if e.period >= FIRST_PERIOD]
    statuses = {}
    for entry in sorted(entries, key=lambda e: (e.received_at, e.file)):
        receipt = submit_generated(out, entry, channel="test")
        statuses[receipt.status] = statuses.get(receipt.status, 0) + 1
    assert statuses.get("accepted", 0) >= 7 * 3
    return statuses


@pytest.fixture(scope="module")
def warehouse(submitted, warehouse_url):
    result = build()
    assert result.success, result.failure_report()
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        yield result, conn


def test_build_is_clean(warehouse):
    result, _ = warehouse
    assert result.failures == [] and result.deprecations == []


def test_completeness_reconciles_with_the_submissions(warehouse):
    _, conn = warehouse
    mart = completeness_from_mart(conn)
    assert len(mart) == 7 * 4
    assert mart == completeness_from_raw(conn)
    late, missing = conn.execute("select sum(units_late), sum(units_missing) "
                                 "from marts.rpt_reporting_completeness").fetchone()
    assert late > 0 and missing > 0  # the generator's late files and left-out units are visible


def test_fact_totals_equal_the_latest_accepted_rows(warehouse):
    _, conn = warehouse
    assert indicator_totals_from_fact(conn) == indicator_totals_from_raw(conn)


def test_full_refresh_is_byte_identical(warehouse):
    _, conn = warehouse
    before = mart_checksums(conn)
    result = build(full_refresh=True)
    assert result.success, result.failure_report()
    assert mart_checksums(conn) == before


def test_readers_see_only_what_they_may(warehouse):
    with psycopg.connect(db.role_url("bi_reader"), autocommit=True) as conn:
        for relation in ("raw.return_values", "staging.stg_raw__return_values", "audit.problems"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select 1 from {relation} limit 1")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("delete from marts.rpt_reporting_completeness")
        assert conn.execute("select count(distinct province_code) from marts.fct_unit_month").fetchone() == (7,)
    with psycopg.connect(db.role_url("province_reader_sd"), autocommit=True) as conn:
        seen = conn.execute("select array_agg(distinct province_code) from marts.fct_unit_month").fetchone()[0]
        assert seen == ["SD"]
        assert conn.execute("select count(*) from marts.rpt_reporting_completeness "
                            "where province_code = 'PB'").fetchone() == (0,)
