"""A small warehouse for the report tests: two years of generated returns for three provinces, 2024 on form
v1 and 2025 on form v2 (generator values from hub.generate, landed in raw as the intake lands accepted files, plus one
rejected file), built with the real dbt project, ranked and reported. Its own database on the
session's server, selected through COP_DATABASE_URL while the module runs."""
from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
import psycopg
import pytest

from cop import db
from cop.build import build
from cop.period import add_months, due_date, months_between
from cop.registry import load_registry
from cop.spec import form_for
from hub.generate import _profiles, unit_month_values, v2_values

PROVINCES = ("IC", "GB", "AJ")
FIRST, LAST = dt.date(2024, 1, 1), dt.date(2025, 12, 1)
PKT = dt.timezone(dt.timedelta(hours=5))


def _land(conn: psycopg.Connection, province: str, month: dt.date, rows: dict[str, dict], status: str,
          received_at: dt.datetime) -> None:
    digest = uuid.uuid4().hex * 2
    submission_id = conn.execute(
        "insert into raw.submissions (province_code, period, version, status, received_at, submitted_by, channel,"
        " file_name, file_size, sha256, landed_path, row_count, error_count) values"
        " (%s, %s, %s, %s, %s, 'test', 'cli', %s, 1000, %s, %s, %s, %s) returning submission_id",
        (province, month, 1 if status == "accepted" else None, status, received_at, f"{province}_{month}.csv",
         digest, f"landing/{digest}.csv", len(rows), 0 if status == "accepted" else 1)).fetchone()[0]
    if status != "accepted":
        conn.execute("insert into audit.problems (submission_id, problem_no, severity, rule, message)"
                     " values (%s, 1, 'error', 'E010', 'Required column missing')", (submission_id,))
        return
    with conn.cursor().copy("copy raw.return_rows (submission_id, source_row, province_code, district_code,"
                            " unit_code, period) from stdin") as copy:
        for row_number, unit_code in enumerate(rows, start=2):
            copy.write_row((submission_id, row_number, province, unit_code.split("-")[1], unit_code, month))
    with conn.cursor().copy("copy raw.return_values (submission_id, unit_code, indicator_code, value)"
                            " from stdin") as copy:
        for unit_code, values in rows.items():
            for field, value in values.items():
                copy.write_row((submission_id, unit_code, field, value))


def land_generated_returns(conn: psycopg.Connection) -> None:
    """Every open unit of PROVINCES every month, except a few unit-months left out (two units miss
    three months in 2025: not ranked); GB's March 2025 file is rejected first, then resent."""
    registry, rng = load_registry(), np.random.default_rng(3)
    months = months_between(FIRST, LAST)
    for province in PROVINCES:
        profiles = _profiles(rng, registry.units_open(province, FIRST))
        gaps = {u.unit_code for u in registry.units_open(province, LAST)[:2]}
        for index, month in enumerate(months):
            units = registry.units_open(province, month)
            rows = {u.unit_code: unit_month_values(rng, u, profiles.setdefault(u.unit_code, _profiles(rng, [u])[u.unit_code]),
                                                   index / (len(months) - 1), month)
                    for u in units if not (u.unit_code in gaps and month >= add_months(LAST, -2))}
            if form_for(month).version > 1:   # form v2's figures too, from its start month
                for u in units:
                    if u.unit_code in rows:
                        rows[u.unit_code].update(v2_values(rng, u, profiles[u.unit_code], index / (len(months) - 1),
                                                           rows[u.unit_code]))
            received = dt.datetime.combine(due_date(month, 10), dt.time(12), tzinfo=PKT)
            with conn.transaction():
                if (province, month) == ("GB", dt.date(2025, 3, 1)):
                    _land(conn, province, month, {}, "rejected", received - dt.timedelta(days=3))
                _land(conn, province, month, rows, "accepted", received)


@pytest.fixture(scope="session")
def report_warehouse(database_url):
    """A built, ranked warehouse database (its URL); cop uses it while the tests run."""
    with db.temporary_database("report") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            land_generated_returns(conn)
        result = build()
        assert result.success, result.failure_report()
        yield url
