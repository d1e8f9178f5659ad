"""Independent recomputations of what the marts must say, straight from raw and the registry.

Used by the model tests (a small known data set) and by the end-to-end test (the demo's returns).
Nothing here reuses the dbt SQL: completeness is recomputed in Python from raw.submissions,
raw.return_rows and cop.registry; totals from raw.return_values.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

import psycopg

from cop.period import due_date, months_between
from cop.registry import load_registry
from cop.spec import load_amendment

PAKISTAN = ZoneInfo("Asia/Karachi")
COMPLETENESS_COLUMNS = ("units_expected", "units_reported", "units_missing", "units_on_time", "units_late")


def _due_instant(month: dt.date, due_day: int) -> dt.datetime:
    """A return is on time when received before the end of the due day, Pakistan time."""
    day_after = due_date(month, due_day) + dt.timedelta(days=1)
    return dt.datetime.combine(day_after, dt.time(), tzinfo=PAKISTAN)


def completeness_from_raw(conn: psycopg.Connection) -> dict[tuple[str, dt.date], dict[str, int]]:
    submissions = conn.execute(
        "select submission_id, province_code, period, version, received_at from raw.submissions "
        "where status = 'accepted'").fetchall()
    all_months = [row[0] for row in conn.execute("select distinct period from raw.submissions")]
    if not all_months:
        return {}
    by_province_month: dict[tuple[str, dt.date], list[tuple]] = defaultdict(list)
    for submission_id, province, month, version, received_at in submissions:
        by_province_month[(province, month)].append((version or 0, received_at, submission_id))
    units_in = defaultdict(set)
    for submission_id, unit_code in conn.execute("select submission_id, unit_code from raw.return_rows"):
        units_in[submission_id].add(unit_code)

    registry = load_registry()
    result = {}
    for month in months_between(min(all_months), max(all_months)):
        for province in registry.province_codes:
            expected = {u.unit_code for u in registry.units_open(province, month)}
            versions = sorted(by_province_month.get((province, month), []))
            latest = units_in[versions[-1][2]] if versions else set()
            due = _due_instant(month, load_amendment(province).due_day)
            on_time = late = 0
            for unit in expected & latest:
                first_seen = min(received for _, received, sid in versions if unit in units_in[sid])
                if first_seen < due:
                    on_time += 1
                else:
                    late += 1
            reported = len(expected & latest)
            result[(province, month)] = dict(units_expected=len(expected), units_reported=reported,
                                             units_missing=len(expected) - reported, units_on_time=on_time,
                                             units_late=late)
    return result


def completeness_from_mart(conn: psycopg.Connection) -> dict[tuple[str, dt.date], dict[str, int]]:
    rows = conn.execute(f"select province_code, month, {', '.join(COMPLETENESS_COLUMNS)} "
                        "from marts.rpt_reporting_completeness").fetchall()
    return {(row[0], row[1]): dict(zip(COMPLETENESS_COLUMNS, row[2:])) for row in rows}


LATEST_ACCEPTED_VALUES = """
    with latest as (
        select distinct on (province_code, period) submission_id
        from raw.submissions
        where status = 'accepted'
        order by province_code, period, version desc nulls last, received_at desc, submission_id desc
    )
    select v.indicator_code, count(*), count(v.value), sum(v.value)
    from raw.return_values as v
    join latest using (submission_id)
    join raw.ref_indicators as i on i.indicator_code = v.indicator_code and i.province_code is null
    group by v.indicator_code
"""


def indicator_totals_from_raw(conn: psycopg.Connection) -> dict[str, tuple]:
    """Per national indicator: rows, known values, sum - over the latest accepted versions."""
    return {row[0]: tuple(row[1:]) for row in conn.execute(LATEST_ACCEPTED_VALUES)}


def indicator_totals_from_fact(conn: psycopg.Connection) -> dict[str, tuple]:
    return {row[0]: tuple(row[1:]) for row in conn.execute(
        "select indicator_code, count(*), count(value), sum(value) from marts.fct_unit_month_indicator "
        "group by indicator_code")}


def mart_tables(conn: psycopg.Connection) -> list[str]:
    return [row[0] for row in conn.execute(
        "select table_name from information_schema.tables where table_schema = 'marts' "
        "and table_type = 'BASE TABLE' order by table_name")]


def mart_checksums(conn: psycopg.Connection) -> dict[str, tuple[int, str]]:
    """Row count and md5 of every marts table's rows (as text, sorted): equal checksums = same contents."""
    checksums = {}
    for table in mart_tables(conn):
        checksums[table] = conn.execute(
            f'select count(*), md5(coalesce(string_agg(t::text, E\'\\n\' order by t::text), \'\')) '
            f'from marts."{table}" as t').fetchone()
    return checksums


def months_of(conn: psycopg.Connection) -> list[dt.date]:
    first, last = conn.execute("select min(period), max(period) from raw.submissions").fetchone()
    return months_between(first, last) if first else []

