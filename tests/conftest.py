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
    import contextlib
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    from psycopg import sql

    @contextlib.contextmanager
    def use(prefix: str):
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        parts = urlsplit(database_url)
        url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))
        previous = os.environ.get("COP_DATABASE_URL")
        os.environ["COP_DATABASE_URL"] = url
        try:
            db.database_url()  # migrates it
            yield url
        finally:
            if previous is None:
                os.environ.pop("COP_DATABASE_URL", None)
            else:
                os.environ["COP_DATABASE_URL"] = previous
            with psycopg.connect(database_url, autocommit=True) as admin:
                admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))

    return use
