"""Least privilege in the warehouse (cop/sql/070_least_privilege.sql), on a real PostgreSQL: every login
role x schema x operation against the expected matrix, and what a reader login might try to block,
exhaust or write (the intake's month lock, connections, long queries, large objects)."""
from __future__ import annotations

import datetime as dt
import threading

import psycopg
import pytest
from psycopg import sql

from cop import db
from cop.security import BI_READER_ROLE, LOADER_ROLE, PORTAL_ROLE, TRANSFORM_ROLE
from loaders import sandbox
from loaders.intake import MONTH_LOCK_WAIT_ENV, MonthBusy, lock_month, submit_file
from loaders.sample import encode_return, sample_return

pytestmark = pytest.mark.xdist_group("role_matrix")  # changes roles' settings on the session's server

SD_READER = "province_reader_sd"
ROLES = (LOADER_ROLE, PORTAL_ROLE, TRANSFORM_ROLE, BI_READER_ROLE, SD_READER)
READERS = (BI_READER_ROLE, SD_READER)
MONTH = dt.date(2025, 3, 1)
# Within the month's revision window: a later received_at would find the month locked (cop/sql/040).
RECEIVED = dt.datetime(2025, 4, 5, 9, 0, tzinfo=dt.timezone.utc)

# One table of each kind; the warehouse layers get one owned by cop_transform, as dbt makes them.
TABLES = {
    "raw.submissions": "file_name", "raw.return_values": "value", "raw.ref_units": "unit_name",
    "raw.intake_month_locks": "last_taken_at", "audit.problems": "message",
    "raw.return_narratives": "text", "review.story_decisions": "actor",
    "portal.users": "display_name", "portal.sessions": "last_seen_at", "portal.sign_in_limits": "failures",
    "portal.checks": "status", "portal.audit_log": "action",
    "scores.runs": "draws", "security.province_readers": "province_code",
    "staging.probe": "x", "intermediate.probe": "x", "snapshots.probe": "x", "marts.probe": "x",
}
ALL = {"select", "insert", "update", "delete", "truncate"}
APPEND = {"select", "insert"}
READ = {"select"}
EXPECTED_TABLES = {
    LOADER_ROLE: {"raw.submissions": APPEND, "raw.return_values": APPEND, "raw.ref_units": READ,
                  "raw.intake_month_locks": {"select", "insert", "update"}, "audit.problems": APPEND,
                  "raw.return_narratives": APPEND, "review.story_decisions": READ},
    PORTAL_ROLE: {"raw.submissions": READ, "raw.return_values": READ, "raw.ref_units": READ,
                  "raw.intake_month_locks": {"select", "insert", "update"}, "audit.problems": READ,
                  "portal.users": {"select", "insert", "update"}, "portal.sessions": ALL - {"truncate"},
                  "portal.sign_in_limits": ALL - {"truncate"}, "portal.checks": ALL - {"truncate"},
                  "portal.audit_log": APPEND, "raw.return_narratives": READ, "review.story_decisions": APPEND,
                  # federal pages read marts as bi_reader does (cop/sql/072)
                  "security.province_readers": READ, "marts.probe": READ},
    TRANSFORM_ROLE: {"raw.submissions": READ, "raw.return_values": READ, "raw.ref_units": READ,
                     "raw.intake_month_locks": READ, "audit.problems": READ,
                     "raw.return_narratives": READ, "review.story_decisions": READ,
                     "scores.runs": {"select", "insert", "delete"}, "security.province_readers": READ,
                     "staging.probe": ALL, "intermediate.probe": ALL, "snapshots.probe": ALL, "marts.probe": ALL},
    BI_READER_ROLE: {"security.province_readers": READ, "marts.probe": READ},
    SD_READER: {"security.province_readers": READ, "marts.probe": READ},
}
SCHEMAS = ("public", "raw", "audit", "portal", "scores", "security", "staging", "intermediate", "snapshots", "marts")
EXPECTED_CREATE = {TRANSFORM_ROLE: {"staging", "intermediate", "snapshots", "marts"}}
EXPECTED_TEMP = {TRANSFORM_ROLE}
LARGE_OBJECTS = ("select lo_create(0)", "select lo_from_bytea(0, 'x'::bytea)", "select lo_creat(-1)",
                 "select lo_import('/etc/hostname')", "select lo_export(1, '/tmp/cop-probe')")
ADVISORY_LOCKS = ("select pg_advisory_lock(1)", "select pg_try_advisory_xact_lock(1)",
                  "select pg_advisory_xact_lock(4410192, hashtext('SD:2025-03'))")


@pytest.fixture(scope="module")
def warehouse(fresh_database):
    """A fresh, migrated database with one table in each dbt layer, created by cop_transform as dbt does."""
    with fresh_database("roles") as url:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(sql.SQL("set role {}").format(sql.Identifier(TRANSFORM_ROLE)))
            for schema in ("staging", "intermediate", "snapshots", "marts"):
                admin.execute(sql.SQL("create table {} (x int)").format(sql.Identifier(schema, "probe")))
        yield url


@pytest.fixture(scope="module")
def admin(warehouse):
    with psycopg.connect(warehouse, autocommit=True) as conn:
        yield conn


def connect(role: str, **kwargs) -> psycopg.Connection:
    return db.connect_as(role, autocommit=True, **kwargs)


def allowed(conn: psycopg.Connection, statement: sql.Composable | str) -> bool:
    """Whether the role may run `statement`: run it in a transaction that is rolled back. Another error
    than a privilege error (a NOT NULL column, say) means the privilege check was passed."""
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(statement)
    except psycopg.errors.InsufficientPrivilege:
        return False
    except psycopg.Error:
        return True
    return True


def table_statements(table: str, column: str) -> dict[str, sql.Composable]:
    name, col = sql.Identifier(*table.split(".")), sql.Identifier(column)
    return {"select": sql.SQL("select * from {} limit 0").format(name),
            "insert": sql.SQL("insert into {} default values").format(name),
            "update": sql.SQL("update {} set {} = {} where false").format(name, col, col),
            "delete": sql.SQL("delete from {} where false").format(name),
            "truncate": sql.SQL("truncate {}").format(name)}


@pytest.mark.parametrize("role", ROLES)
def test_every_role_may_do_exactly_what_the_matrix_says(warehouse, role):
    actual, expected = {}, {}
    with connect(role) as conn:
        for table, column in TABLES.items():
            for operation, statement in table_statements(table, column).items():
                actual[(table, operation)] = allowed(conn, statement)
                expected[(table, operation)] = operation in EXPECTED_TABLES[role].get(table, set())
        for schema in SCHEMAS:
            statement = sql.SQL("create table {} (x int)").format(sql.Identifier(schema, "matrix_probe"))
            actual[(schema, "create")] = allowed(conn, statement)
            expected[(schema, "create")] = schema in EXPECTED_CREATE.get(role, set())
        actual["temp"] = allowed(conn, "create temporary table matrix_probe (x int)")
        expected["temp"] = role in EXPECTED_TEMP
        for statement in LARGE_OBJECTS + ADVISORY_LOCKS:
            actual[statement], expected[statement] = allowed(conn, statement), False
    wrong = {key: f"allowed={actual[key]}, expected {expected[key]}" for key in actual if actual[key] != expected[key]}
    assert wrong == {}


def test_no_platform_role_is_a_superuser_or_may_create_roles_or_databases(admin):
    rows = admin.execute("select rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls "
                         "from pg_roles where rolname = any(%s)", (list(ROLES),)).fetchall()
    assert len(rows) == len(ROLES)
    assert [row[0] for row in rows if any(row[1:])] == []


def test_every_table_of_raw_and_audit_is_append_only_for_the_intake(admin):
    """Whatever tables later migrations add: the intake never updates, deletes or truncates (its month
    lock rows aside), and readers see none of raw, audit, portal or scores."""
    rows = admin.execute(
        "select n.nspname || '.' || c.relname, "
        "       has_table_privilege('cop_loader', c.oid, 'update'), has_table_privilege('cop_loader', c.oid, 'delete'), "
        "       has_table_privilege('cop_loader', c.oid, 'truncate'), "
        "       has_table_privilege('bi_reader', c.oid, 'select'), has_table_privilege('province_reader_sd', c.oid, 'select') "
        "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where c.relkind in ('r', 'p', 'v', 'm') and n.nspname in ('raw', 'audit', 'portal', 'scores')").fetchall()
    assert len(rows) > 15
    writes = [name for name, update, delete, truncate, *_ in rows
              if (update and name != "raw.intake_month_locks") or delete or truncate]
    assert writes == []
    assert [name for name, *_, bi, sd in rows if bi or sd] == []


# ---------------------------------------------------------------- the intake's month lock


def small_return(seed: int = 0) -> bytes:
    return encode_return(sample_return("SD", MONTH, seed=seed, units=5), "SD")


def submissions_of_sd(admin) -> int:
    return admin.execute("select count(*) from raw.submissions where province_code = 'SD' and period = %s",
                         (MONTH,)).fetchone()[0]


def test_a_reader_cannot_take_or_hold_the_intakes_month_lock(warehouse, admin, monkeypatch):
    monkeypatch.setenv(MONTH_LOCK_WAIT_ENV, "2")
    sandbox.start()  # warm before the reader's transaction opens: it must not idle past its own timeout
    with connect(BI_READER_ROLE) as reader:
        reader.execute("begin")
        for attempt in ("select * from raw.intake_month_locks for update",
                        "lock table raw.intake_month_locks in access exclusive mode",
                        "lock table raw.submissions in access exclusive mode",
                        "select pg_advisory_xact_lock(4410192, hashtext('SD:2025-03'))"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                reader.execute(attempt)
            reader.execute("rollback; begin")
        before = submissions_of_sd(admin)
        # the reader's session still open
        receipt = submit_file(small_return(), "SD_2025-03.csv", "SD", MONTH, "tests", received_at=RECEIVED)
        assert receipt.status in ("accepted", "rejected") and submissions_of_sd(admin) == before + 1


def test_a_second_file_of_the_month_waits_then_gets_a_clear_try_again(warehouse, admin, monkeypatch):
    monkeypatch.setenv(MONTH_LOCK_WAIT_ENV, "1")
    before = submissions_of_sd(admin)
    with connect(LOADER_ROLE) as holder:
        with holder.transaction():
            lock_month(holder, "SD", MONTH)  # another intake is deciding a file of SD 2025-03
            with pytest.raises(MonthBusy, match="Another file for SD 2025-03 is being processed right now; "
                                                "nothing was recorded for this one. Try again in a minute."):
                submit_file(small_return(seed=1), "SD_2025-03.csv", "SD", MONTH, "tests", received_at=RECEIVED)
            assert submissions_of_sd(admin) == before
            other = submit_file(encode_return(sample_return("PB", MONTH, units=5), "PB"), "PB.csv", "PB", MONTH, "tests",
                                received_at=RECEIVED)
            assert other.submission_id is not None  # another province's month is not held up
    retried = submit_file(small_return(seed=1), "SD_2025-03.csv", "SD", MONTH, "tests", received_at=RECEIVED)
    assert retried.submission_id is not None
    assert submissions_of_sd(admin) == before + 1


# ---------------------------------------------------------------- connections and long queries


def test_a_reader_cannot_exhaust_connections_and_the_platform_still_connects(warehouse, admin):
    limits = dict(admin.execute("select rolname, rolconnlimit from pg_roles where rolname = any(%s)",
                                (list(ROLES),)).fetchall())
    assert limits[BI_READER_ROLE] == 20 and limits[SD_READER] == 5
    for role in (LOADER_ROLE, PORTAL_ROLE, TRANSFORM_ROLE):
        assert limits[role] == -1
    max_connections = int(admin.execute("show max_connections").fetchone()[0])
    readers = admin.execute("select sum(rolconnlimit) from pg_roles where rolname = 'bi_reader' "
                            "or rolname in (select role_name from security.province_readers)").fetchone()[0]
    assert max_connections - readers >= 100, "every reader at its limit leaves the platform most of the server"
    held = []
    try:
        with pytest.raises(psycopg.OperationalError, match="too many connections for role"):
            for _ in range(limits[SD_READER] + 1):
                held.append(connect(SD_READER))
        assert len(held) == limits[SD_READER]
        for role in (LOADER_ROLE, PORTAL_ROLE, TRANSFORM_ROLE, BI_READER_ROLE):
            with connect(role) as conn:
                assert conn.execute("select current_user").fetchone()[0] == role
    finally:
        for conn in held:
            conn.close()


def test_readers_run_under_a_statement_timeout_and_cannot_idle_in_a_transaction(warehouse, admin):
    for reader in READERS:
        with connect(reader) as conn:
            settings = dict(conn.execute("select name, setting from pg_settings where name = any(%s)",
                                         (["statement_timeout", "idle_in_transaction_session_timeout",
                                           "lock_timeout", "temp_file_limit"],)).fetchall())
            assert settings == {"statement_timeout": "60000", "idle_in_transaction_session_timeout": "60000",
                                "lock_timeout": "10000", "temp_file_limit": "1048576"}
    # The same setting made short in this database only, to see it stop a long query.
    database = admin.execute("select current_database()").fetchone()[0]
    admin.execute(sql.SQL("alter role {} in database {} set statement_timeout = '1s'").format(
        sql.Identifier(BI_READER_ROLE), sql.Identifier(database)))
    try:
        with connect(BI_READER_ROLE) as conn:
            with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
                conn.execute("select pg_sleep(30) from marts.probe union all select pg_sleep(30)")
    finally:
        admin.execute(sql.SQL("alter role {} in database {} reset statement_timeout").format(
            sql.Identifier(BI_READER_ROLE), sql.Identifier(database)))


def test_a_reader_that_switches_its_timeout_off_is_ended_before_the_build(warehouse, admin):
    """No role setting stops `set statement_timeout = 0`; the build (as cop_transform) ends such a session
    once it has overrun (here: after one second instead of the reader's 60)."""
    errors = []

    def long_query():
        with connect(SD_READER) as conn:
            conn.execute("set statement_timeout = 0")
            try:
                conn.execute("select pg_sleep(120) from marts.probe union all select pg_sleep(120)")
            except psycopg.OperationalError as exc:
                errors.append(exc)
    reader = threading.Thread(target=long_query)
    reader.start()
    try:
        with connect(TRANSFORM_ROLE) as transform:
            assert transform.execute("select security.end_overdue_reader_sessions()").fetchone()[0] == 0
            for _ in range(100):  # the reader's query has started and run for over a second
                if transform.execute("select security.end_overdue_reader_sessions('1 second')").fetchone()[0]:
                    break
                threading.Event().wait(0.2)
    finally:
        reader.join(timeout=30)
    assert not reader.is_alive() and len(errors) == 1 and "terminat" in str(errors[0])
    with connect(LOADER_ROLE) as loader, pytest.raises(psycopg.errors.InsufficientPrivilege):
        loader.execute("select security.end_overdue_reader_sessions('0 seconds')")  # not the intake's to call


def test_cop_db_roles_prints_the_model(warehouse):
    from typer.testing import CliRunner

    from hub.cli import app

    result = CliRunner().invoke(app, ["db", "roles"])
    assert result.exit_code == 0, result.output
    assert "superuser: migrations and server administration only" in result.output
    for role in ROLES:
        assert f"\n{role}: " in result.output and f"postgresql://{role}:" in result.output
    assert "at most 20 connections; statement_timeout=60s" in result.output
