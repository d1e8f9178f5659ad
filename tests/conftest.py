"""Shared fixtures. Every test session (each xdist worker) gets its own COP_HOME
and, unless COP_DATABASE_URL is set, its own real embedded PostgreSQL, which is
stopped at the end."""
from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from cop import db


@pytest.fixture(scope="session")
def cop_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("cop_home")
    previous = os.environ.get("COP_HOME")
    os.environ["COP_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("COP_HOME", None)
    else:
        os.environ["COP_HOME"] = previous


@pytest.fixture(scope="session")
def database_url(cop_home) -> str:
    """A running, migrated warehouse database for this test session."""
    url = db.start()
    yield url
    db.stop()


@pytest.fixture
def conn(database_url):
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="session")
def fresh_database(database_url):
    """fresh_database("prefix") -> a context manager: a new, migrated database on this session's
    server that cop uses (through COP_DATABASE_URL) inside the block, dropped afterwards. For tests
    whose numbers must not depend on what other modules loaded into the session database."""
    return db.temporary_database
