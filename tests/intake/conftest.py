"""Fixtures for the intake tests: a database of their own on the session's real PostgreSQL
(tests/conftest.py), so that the submissions they make never show in other tests' numbers; a month no
other test of the module has used; a snapshot of raw to prove that a rejected file changed nothing."""
from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from cop.period import add_months, parse_period
from cop.spec import load_form

LATEST_MONTH = dt.date(2025, 9, 1)


@pytest.fixture(scope="module", autouse=True)
def intake_database(fresh_database):
    """A new, migrated database, which cop (and the `cop` subprocesses) use while the module runs."""
    with fresh_database("intake") as url:
        # These tests are about the intake's mechanics, run today on months of 2024-2025: months here never
        # lock by date (locking has its own tests in tests/review), so a revision is always taken.
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("update raw.ref_provinces set lock_after_days = 100000")
        yield url


@pytest.fixture
def conn(intake_database):
    with psycopg.connect(intake_database, autocommit=True) as connection:
        yield connection


@pytest.fixture
def fresh_month(conn):
    """A month before every month already submitted in this database: no history, no versions yet."""
    earliest = conn.execute("select min(period) from raw.submissions where period >= %s",
                            (parse_period(load_form().programme_start),)).fetchone()[0]
    return add_months(earliest, -1) if earliest else LATEST_MONTH


@pytest.fixture
def raw_snapshot(conn):
    """A function returning everything in raw's data tables, to compare before and after."""
    def snapshot():
        return conn.execute(
            "select (select count(*) from raw.return_rows), (select count(*) from raw.return_values), "
            "(select coalesce(sum(value), 0) from raw.return_values), "
            "(select count(*) from raw.submissions where status = 'accepted')").fetchone()
    return snapshot
