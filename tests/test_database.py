"""The embedded PostgreSQL: independent homes, start/stop/status through the CLI."""
from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest

from cop.spec import load_form

COP = [sys.executable, "-m", "hub.cli"]
# Read once at import: fixtures of other modules point COP_DATABASE_URL at their own databases for a while.
EXTERNAL_SERVER = bool(os.environ.get("COP_DATABASE_URL"))


def cop(home, *args, check=True):
    env = {k: v for k, v in os.environ.items() if k != "COP_DATABASE_URL"}
    env["COP_HOME"] = str(home)
    return subprocess.run([*COP, *args], env=env, capture_output=True, text=True, check=check, timeout=180)


@pytest.mark.skipif(EXTERNAL_SERVER, reason="tests the embedded server")
def test_two_homes_run_two_independent_servers(tmp_path):
    home_a, home_b = tmp_path / "a", tmp_path / "b"
    try:
        cop(home_a, "db", "start")
        cop(home_b, "db", "start")
        url_a = cop(home_a, "db", "url", "--show-password").stdout.strip()
        url_b = cop(home_b, "db", "url", "--show-password").stdout.strip()
        assert url_a != url_b
        with psycopg.connect(url_a, autocommit=True) as conn:
            conn.execute("create table public.only_in_a (x int)")
        with psycopg.connect(url_b, autocommit=True) as conn:
            assert conn.execute("select to_regclass('public.only_in_a')").fetchone()[0] is None

        cop(home_a, "db", "stop")
        assert cop(home_a, "db", "status", check=False).returncode == 1
        status_b = cop(home_b, "db", "status")
        assert "running" in status_b.stdout
        with psycopg.connect(url_b) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
    finally:
        cop(home_a, "db", "stop", check=False)
        cop(home_b, "db", "stop", check=False)


@pytest.mark.skipif(EXTERNAL_SERVER, reason="tests the embedded server")
def test_the_database_keeps_its_port_and_stays_stopped_until_asked(tmp_path):
    home = tmp_path / "home"
    try:
        started = cop(home, "db", "start")
        url = cop(home, "db", "url", "--show-password").stdout.strip()
        password = psycopg.conninfo.conninfo_to_dict(url)["password"]
        for _ in range(5):  # client connections leave TIME_WAIT sockets on the port after the server stops
            with psycopg.connect(url) as conn:
                conn.execute("select 1")
        cop(home, "db", "stop")

        for command in (["db", "url"], ["submissions"], ["users", "list"]):
            refused = cop(home, *command, check=False)
            assert refused.returncode == 1, command
            assert "is stopped" in refused.stderr and "cop db start" in refused.stderr, command
        assert cop(home, "db", "status", check=False).returncode == 1, "no command started it behind our back"

        restarted = cop(home, "db", "start")
        assert cop(home, "db", "url", "--show-password").stdout.strip() == url, "same port, same URL"
        status = cop(home, "db", "status")
        shown = started.stdout + started.stderr + restarted.stderr + status.stdout + cop(home, "db", "url").stdout
        assert password not in shown and "****" in shown, "no password printed unless asked"
    finally:
        cop(home, "db", "stop", check=False)


def test_migrations_create_raw_and_reference_data(conn):
    counts = dict(conn.execute(
        "select 'units', count(distinct unit_code) from raw.ref_units union all "
        "select 'provinces', count(*) from raw.ref_provinces union all "
        "select 'indicators', count(*) from raw.ref_indicators where province_code is null").fetchall())
    assert counts == {"units": 1765, "provinces": 7, "indicators": len(load_form().fields)}


def test_password_is_required(database_url):
    if EXTERNAL_SERVER:
        pytest.skip("the embedded server's authentication")
    wrong = database_url.replace("://cop:", "://cop:wrong", 1)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong)
