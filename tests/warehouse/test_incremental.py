"""Incremental builds: a revised month replaces its (province, month) partition and nothing else, a
registry correction reaches the months it touches, and a full refresh gives the same contents."""
from __future__ import annotations

import datetime as dt

from cop.build import build
from warehouse_data import pkt, unit_values
from warehouse_checks import indicator_totals_from_fact, indicator_totals_from_raw, mart_checksums

DEC = dt.date(2024, 12, 1)


def row_versions(conn, province: str, month: dt.date) -> set[str]:
    """The physical row versions (xmin) of a partition: unchanged if the partition was not rewritten."""
    return {row[0] for row in conn.execute(
        "select xmin::text from marts.fct_unit_month_indicator where province_code = %s and month = %s",
        (province, month))}


def test_revision_replaces_only_its_partition_and_matches_a_full_refresh(built, warehouse_conn, raw_loader, scenario):
    untouched = row_versions(warehouse_conn, "PB", DEC)
    revision = raw_loader.submit("IC", "2024-12", pkt("2025-03-01 09:00"),
                                 {unit: unit_values(index, shift=5, period="2024-12")
                                  for index, unit in enumerate(scenario.ic_units[:10])})
    result = build()
    assert result.success, result.failure_report()

    used = warehouse_conn.execute("select distinct submission_id from marts.fct_unit_month_indicator "
                                  "where province_code = 'IC' and month = %s", (DEC,)).fetchall()
    assert used == [(revision,)]
    assert row_versions(warehouse_conn, "PB", DEC) == untouched
    completeness = warehouse_conn.execute(
        "select units_reported, units_on_time, units_late, accepted_versions from marts.rpt_reporting_completeness "
        "where province_code = 'IC' and month = %s", (DEC,)).fetchone()
    assert completeness == (10, 10, 0, 2)  # the ten units were first sent on time, in version 1
    assert indicator_totals_from_fact(warehouse_conn) == indicator_totals_from_raw(warehouse_conn)

    incremental = mart_checksums(warehouse_conn)
    assert build(full_refresh=True).success
    assert mart_checksums(warehouse_conn) == incremental


def test_registry_correction_reaches_the_facts_and_the_snapshot(built, warehouse_conn):
    warehouse_conn.execute("update raw.ref_units set population = 50000 where unit_code = 'IC-ISB-003'")
    result = build()
    assert result.success, result.failure_report()
    populations = {row[0] for row in warehouse_conn.execute(
        "select distinct population from marts.fct_unit_month_indicator where unit_code = 'IC-ISB-003'")}
    assert populations == {50000}
    history = warehouse_conn.execute(
        "select population, dbt_valid_to is null from snapshots.snap_registry_units "
        "where unit_code = 'IC-ISB-003' order by dbt_valid_from").fetchall()
    assert [current for _, current in history] == [False, True] and history[-1][0] == 50000

    incremental = mart_checksums(warehouse_conn)
    assert build(full_refresh=True).success
    assert mart_checksums(warehouse_conn) == incremental
