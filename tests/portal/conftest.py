"""Fixtures of the portal tests: a fresh database of their own on the session's PostgreSQL (so that
the intake and warehouse tests never see these submissions, nor these tests theirs), three accounts,
the application with a fixed clock (portal_helpers.NOW) and signed-in clients."""
from __future__ import annotations

import psycopg
import pytest

from portal.accounts import add_user
from portal_helpers import NOW, PASSWORD, USERS, client_for, sign_in


@pytest.fixture(scope="module")
def portal_database(fresh_database):
    """A fresh, migrated database for this module (tests/conftest.py), with the three accounts."""
    with fresh_database("portal") as url:
        for username, (role, province, display) in USERS.items():
            add_user(username, PASSWORD, role, province, display)
        yield url


@pytest.fixture(scope="module")
def portal_conn(portal_database):
    with psycopg.connect(portal_database, autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def app(portal_database):
    from portal.app import create_app

    return create_app(clock=lambda: NOW)


@pytest.fixture
def signed_in(app):
    """signed_in('sd_clerk') -> a client with that user's session."""
    clients = []

    def make(username: str) -> TestClient:
        client = client_for(app)
        client.__enter__()
        clients.append(client)
        assert sign_in(client, username).status_code == 303
        return client
    yield make
    for client in clients:
        client.__exit__(None, None, None)


