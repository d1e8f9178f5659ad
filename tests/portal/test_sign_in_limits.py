"""Sign-in limits that hold (portal/accounts.py, cop/sql/071_sign_in_limits.sql) with real threads on the
real database, client addresses (X-Forwarded-For only from trusted proxies), audited downloads, and
the portal's least privilege: a month being decided gives a clear 409, and neither the portal nor the
intake ever connects as the superuser."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from fastapi.testclient import TestClient

from cop import db
from cop.security import LOADER_ROLE, PORTAL_ROLE
from loaders.intake import MONTH_LOCK_WAIT_ENV, lock_month
from portal import accounts
from portal.addresses import TRUSTED_PROXIES_ENV, ProxySettingError, client_address
from portal_helpers import MONTH, PASSWORD, client_for, good_file, sign_in, upload

ACCOUNT_LIMIT, ADDRESS_LIMIT = accounts.MAX_FAILURES["account"], accounts.MAX_FAILURES["address"]


def attempts_at_once(attempts: list[tuple[str, str, str]]) -> list[accounts.SignIn]:
    """Every (username, password, address) attempt in its own thread, released together."""
    start = threading.Barrier(len(attempts))

    def attempt(args):
        start.wait()
        return accounts.sign_in(*args)
    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        return list(pool.map(attempt, attempts))


def outcomes(results: list[accounts.SignIn]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for result in results:
        counted[result.outcome] = counted.get(result.outcome, 0) + 1
    return counted


def password_checks(conn, username: str) -> int:
    return conn.execute("select count(*) from portal.login_attempts where username = %s", (username,)).fetchone()[0]


# ---------------------------------------------------------------- parallel attempts


def test_a_parallel_burst_cannot_exceed_the_account_limit(portal_database, portal_conn):
    accounts.add_user("burst", PASSWORD, "province", "KP")
    results = attempts_at_once([("burst", f"guess {i}", f"198.51.100.{i}") for i in range(24)])
    assert outcomes(results) == {"bad_credentials": ACCOUNT_LIMIT, "rate_limited": 24 - ACCOUNT_LIMIT}
    assert password_checks(portal_conn, "burst") == ACCOUNT_LIMIT
    assert {r.limited for r in results if r.outcome == "rate_limited"} == {"account"}
    late = accounts.sign_in("burst", PASSWORD, "198.51.100.200")  # the right password, another address
    assert late.outcome == "rate_limited" and late.limited == "account" and late.retry_after_minutes >= 1


def test_a_parallel_burst_from_one_address_cannot_exceed_the_address_limit(portal_database, portal_conn):
    results = attempts_at_once([(f"nobody{i}", "guess", "203.0.113.50") for i in range(ADDRESS_LIMIT + 10)])
    assert outcomes(results) == {"bad_credentials": ADDRESS_LIMIT, "rate_limited": 10}
    checks = portal_conn.execute("select count(*) from portal.login_attempts where ip = '203.0.113.50'").fetchone()[0]
    assert checks == ADDRESS_LIMIT


def test_one_address_cannot_lock_every_user_out(portal_database, portal_conn):
    attacker = "203.0.113.66"
    victims = ["sd_clerk", "ic_clerk", "reviewer"] + [f"spray{i}" for i in range(40)]
    results = [accounts.sign_in(name, "guess", attacker) for name in victims for _ in range(2)]
    assert sum(r.outcome == "bad_credentials" for r in results) == ADDRESS_LIMIT
    assert results[-1].outcome == "rate_limited" and results[-1].limited == "address"
    for username in ("sd_clerk", "ic_clerk", "reviewer"):  # from anywhere else, everyone still signs in
        assert accounts.sign_in(username, PASSWORD, "192.0.2.10").outcome == "signed_in"
    locked = portal_conn.execute("select count(*) from portal.sign_in_limits where scope = 'account' "
                                 "and key = any(%s) and locked_until > now()", (victims,)).fetchone()[0]
    assert locked == 0, "two guesses per account lock no account"


def test_an_account_lock_holds_across_addresses_and_backs_off(portal_database, portal_conn):
    accounts.add_user("backoff", PASSWORD, "province", "BA")
    for i in range(ACCOUNT_LIMIT):
        assert accounts.sign_in("backoff", "guess", f"192.0.2.{100 + i}").outcome == "bad_credentials"
    refused = accounts.sign_in("backoff", PASSWORD, "192.0.2.200")
    assert refused.outcome == "rate_limited" and refused.limited == "account"
    assert 4 <= refused.retry_after_minutes <= 5  # FIRST_LOCKOUT
    # The lock runs out; five more failures lock it again, for twice as long.
    portal_conn.execute("update portal.sign_in_limits set locked_until = now() - interval '1 second' "
                        "where scope = 'account' and key = 'backoff'")
    for i in range(ACCOUNT_LIMIT):
        assert accounts.sign_in("backoff", "guess", f"192.0.2.{110 + i}").outcome == "bad_credentials"
    again = accounts.sign_in("backoff", PASSWORD, "192.0.2.201")
    assert again.outcome == "rate_limited" and 9 <= again.retry_after_minutes <= 10
    locks = [row[0] for row in portal_conn.execute(
        "select detail->>'limit' from portal.audit_log where username = 'backoff' and action = 'sign_in.locked'")]
    assert locks == ["account", "account"]


def test_a_success_gives_its_charge_back(portal_database, portal_conn):
    accounts.add_user("typo", PASSWORD, "province", "AJ")
    for _ in range(ACCOUNT_LIMIT - 1):
        assert accounts.sign_in("typo", "guess", "192.0.2.77").outcome == "bad_credentials"
    assert accounts.sign_in("typo", PASSWORD, "192.0.2.77").outcome == "signed_in"
    assert accounts.sign_in("typo", "guess", "192.0.2.77").outcome == "bad_credentials"  # a fresh count
    rows = dict(portal_conn.execute("select scope, failures from portal.sign_in_limits "
                                    "where key in ('typo', '192.0.2.77')").fetchall())
    assert rows == {"account": 1, "address": ACCOUNT_LIMIT}


def test_limits_that_count_nothing_any_more_go_at_sign_out(portal_database, portal_conn):
    assert accounts.sign_in("stale", "guess", "192.0.2.99").outcome == "bad_credentials"
    assert accounts.sign_in("fresh", "guess", "192.0.2.98").outcome == "bad_credentials"
    portal_conn.execute("update portal.sign_in_limits set window_started_at = now() - interval '1 hour' "
                        "where key in ('stale', '192.0.2.99')")
    signed_in = accounts.sign_in("reviewer", PASSWORD, "192.0.2.97")
    accounts.sign_out(signed_in.session, "192.0.2.97")
    keys = {row[0] for row in portal_conn.execute("select key from portal.sign_in_limits")}
    assert {"fresh", "192.0.2.98"} <= keys and not {"stale", "192.0.2.99"} & keys


# ---------------------------------------------------------------- client addresses


def test_forwarded_for_counts_only_from_trusted_proxies(monkeypatch):
    monkeypatch.delenv(TRUSTED_PROXIES_ENV, raising=False)
    assert client_address("10.0.0.5", ["6.6.6.6"]) == "10.0.0.5"
    monkeypatch.setenv(TRUSTED_PROXIES_ENV, "10.0.0.0/24, 2001:db8::1")
    assert client_address("10.0.0.5", ["6.6.6.6, 203.0.113.9"]) == "203.0.113.9"  # the left part is the client's word
    assert client_address("10.0.0.5", ["6.6.6.6", "203.0.113.9, 10.0.0.7"]) == "203.0.113.9"  # two proxies
    assert client_address("2001:db8::1", ["203.0.113.9"]) == "203.0.113.9"
    assert client_address("198.51.100.1", ["10.0.0.9"]) == "198.51.100.1"  # not from our proxy: ignored
    assert client_address("10.0.0.5", []) == "10.0.0.5"
    assert client_address("10.0.0.5", ["not-an-address"]) == "10.0.0.5"
    monkeypatch.setenv(TRUSTED_PROXIES_ENV, "10.0.0.0/33")
    with pytest.raises(ProxySettingError, match="'10.0.0.0/33' is not an IP address or CIDR"):
        client_address("10.0.0.5", [])


def test_a_forged_forwarded_for_does_not_reach_the_audit_log_or_the_limits(app, portal_conn, monkeypatch):
    monkeypatch.setenv(TRUSTED_PROXIES_ENV, "10.9.0.0/16")
    forged = TestClient(app, base_url="http://testserver", follow_redirects=False, client=("198.51.100.9", 5000),
                        headers={"X-Forwarded-For": "1.1.1.1"})
    proxied = TestClient(app, base_url="http://testserver", follow_redirects=False, client=("10.9.0.2", 5000),
                         headers={"X-Forwarded-For": "1.1.1.1, 198.51.100.77"})
    with forged, proxied:
        assert sign_in(forged, "xff_probe", "guess").status_code == 401
        assert sign_in(proxied, "xff_probe", "guess").status_code == 401
    ips = [row[0] for row in portal_conn.execute(
        "select ip from portal.audit_log where username = 'xff_probe' order by audit_id")]
    assert ips == ["198.51.100.9", "198.51.100.77"]


# ---------------------------------------------------------------- downloads, busy months, roles


def test_every_download_is_audited(signed_in, portal_conn):
    client = signed_in("sd_clerk")
    submitted = upload(client, "SD", good_file("SD", seed=31))
    base = submitted.headers["location"]
    checked = upload(client, "SD", good_file("SD", seed=32), action="check").headers["location"]
    paths = ["/provinces/SD/template.csv", f"{base}/problems.csv", f"{base}/problems.xlsx", f"{base}/report",
             f"{checked}/problems.csv", f"{checked}/report"]
    for path in paths:
        assert client.get(path).status_code == 200, path
    rows = portal_conn.execute("select action, detail from portal.audit_log where username = 'sd_clerk' "
                               "and action like 'download.%%' order by audit_id desc limit 6").fetchall()
    assert [action for action, _ in reversed(rows)] == ["download.template", "download.problems", "download.problems",
                                                        "download.report", "download.problems", "download.report"]
    assert rows[0][1]["check_id"] == checked.rsplit("/", 1)[-1]


def test_a_month_being_decided_gives_a_clear_try_again(signed_in, portal_conn, monkeypatch):
    monkeypatch.setenv(MONTH_LOCK_WAIT_ENV, "1")
    client = signed_in("ic_clerk")
    with db.connect_as(LOADER_ROLE, autocommit=True) as holder, holder.transaction():
        lock_month(holder, "IC", MONTH)
        response = upload(client, "IC", good_file("IC", seed=33))
    assert response.status_code == 409 and response.headers["retry-after"] == "60"
    assert "Another file for IC 2026-10 is being processed right now" in response.text
    assert portal_conn.execute("select action from portal.audit_log where username = 'ic_clerk' "
                               "order by audit_id desc limit 1").fetchone()[0] == "upload.busy"
    assert upload(client, "IC", good_file("IC", seed=33)).status_code == 303


def test_the_portal_and_the_intake_never_connect_as_the_superuser(app, portal_database, monkeypatch, tmp_path):
    """As in production: the process holds its roles' URLs and an administrator's URL that cannot work, so
    any superuser connection fails the test; and every session seen meanwhile is a platform role."""
    from hub.inbox import drop_file, process_inbox

    for role in (LOADER_ROLE, PORTAL_ROLE):
        monkeypatch.setenv(db.role_url_variable(role), db.role_url(role))
    monkeypatch.setenv("COP_DATABASE_URL", "postgresql://cop:not-the-password@127.0.0.1:9/nowhere")
    seen, stop = set(), threading.Event()

    def watch():  # the sessions that opened after this point (the test's own admin connections are older)
        with psycopg.connect(portal_database, autocommit=True) as admin:
            older = [row[0] for row in admin.execute("select pid from pg_stat_activity")]
            while not stop.is_set():
                seen.update(admin.execute("select usename from pg_stat_activity where datname = current_database() "
                                          "and pid <> all(%s) and usename is not null", (older,)).fetchall())
                stop.wait(0.005)
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with client_for(app) as client:
            assert sign_in(client, "sd_clerk").status_code == 303
            submitted = upload(client, "SD", good_file("SD", seed=34))
            assert submitted.status_code == 303 and client.get(submitted.headers["location"]).status_code == 200
            assert client.get("/provinces/SD").status_code == 200
        source = tmp_path / "SD_2026-10_inbox.csv"
        source.write_bytes(good_file("SD", seed=35))
        drop_file(source, "SD")
        summary = process_inbox("SD", "cop_monthly_returns", "least_privilege_test")
        assert [f.verdict for f in summary.files] in (["accepted"], ["rejected"])
    finally:
        stop.set()
        watcher.join()
    assert {row[0] for row in seen} <= {LOADER_ROLE, PORTAL_ROLE} and seen
