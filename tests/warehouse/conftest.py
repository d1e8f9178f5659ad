"""Fixtures for the warehouse (dbt) tests.

Each test module gets its own fresh database on the session's PostgreSQL server (so the intake's
tests, which fill raw in the session database, never change the numbers checked here), selected for
cop through COP_DATABASE_URL while the module runs. `raw_loader` writes submissions straight into the
raw tables the way the intake lands them: a small, known data set for model tests.
"""
from __future__ import annotations

import psycopg
import pytest

from warehouse_data import RawLoader, Scenario, load_scenario


@pytest.fixture(scope="module")
def warehouse_url(fresh_database):
    """A fresh, migrated database for this module; cop (and so dbt) uses it while the module runs."""
    with fresh_database("warehouse") as url:
        yield url


@pytest.fixture(scope="module")
def warehouse_conn(warehouse_url):
    with psycopg.connect(warehouse_url, autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def raw_loader(warehouse_conn) -> RawLoader:
    return RawLoader(warehouse_conn)


@pytest.fixture(scope="module")
def scenario(raw_loader) -> Scenario:
    """The known data set (warehouse_data.load_scenario) in this module's database."""
    return load_scenario(raw_loader)


@pytest.fixture(scope="module")
def built(scenario):
    """The warehouse built (dbt build) over the scenario."""
    from cop.build import build

    result = build()
    assert result.success, result.failure_report()
    return result
