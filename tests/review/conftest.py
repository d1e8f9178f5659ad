"""Fixtures of the review tests: a fresh database of their own (tests/conftest.py) with a federal
reviewer and a province clerk."""
from __future__ import annotations

import psycopg
import pytest

from portal.accounts import add_user

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def review_database(fresh_database):
    with fresh_database("review") as url:
        add_user("reviewer", PASSWORD, "federal", None, "Federal reviewer")
        add_user("sd.clerk", PASSWORD, "province", "SD", "Sindh data desk")
        yield url


@pytest.fixture
def conn(review_database):
    with psycopg.connect(review_database, autocommit=True) as connection:
        yield connection
