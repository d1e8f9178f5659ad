"""Builds the warehouse: runs dbt (dbt_project/) programmatically against this COP_HOME's database.

`build()` runs `dbt build` (snapshots, models, unit and data tests, in DAG order);
`generate_docs()` runs `dbt docs generate` into COP_HOME/outputs/dbt-docs. dbt's target/ and logs/ live under
COP_HOME/dbt, so two COP_HOMEs never share state. dbt connects with the warehouse URL of
cop.db.role_url("cop_transform") (passed through environment variables that dbt_project/profiles.yml
reads): dbt logs in as the transform role, which owns everything it builds.
"""
from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence
from urllib.parse import parse_qs, unquote, urlsplit

from psycopg import sql

from cop import db, security
from cop.paths import DBT_PROJECT_DIR, state_dir

FAILED_STATUSES = {"error", "fail", "runtime error"}


class BuildError(RuntimeError):
    """dbt could not run or reported failures; the message says which nodes and why."""


@dataclass
class BuildResult:
    success: bool
    command: list[str]
    seconds: float
    statuses: dict[str, int] = field(default_factory=dict)   # node status -> count
    failures: list[str] = field(default_factory=list)        # "node: message" of failed nodes
    warnings: list[str] = field(default_factory=list)        # dbt warnings (deprecations included)
    deprecations: list[str] = field(default_factory=list)
    error: str | None = None                                  # dbt could not run at all
    nodes: list[dict] = field(default_factory=list)           # every node run: type, name, status, message

    def summary(self) -> str:
        counts = ", ".join(f"{count} {status}" for status, count in sorted(self.statuses.items()))
        verdict = "ok" if self.success else "FAILED"
        return (f"dbt {self.command[0]} {verdict} in {self.seconds:.1f}s ({counts or 'nothing run'}; "
                f"{len(self.warnings)} warnings, {len(self.deprecations)} deprecations)")

    def failure_report(self) -> str:
        lines = [self.summary()]
        if self.error:
            lines.append(self.error)
        lines += [f"  - {failure}" for failure in self.failures]
        return "\n".join(lines)


def dbt_environment(url: str) -> dict[str, str]:
    """The variables dbt_project/profiles.yml reads, from a PostgreSQL URL."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return {
        "COP_DBT_HOST": parts.hostname or "localhost",
        "COP_DBT_PORT": str(parts.port or 5432),
        "COP_DBT_USER": unquote(parts.username or ""),
        "DBT_ENV_SECRET_COP_DBT_PASSWORD": unquote(parts.password or ""),
        "COP_DBT_DBNAME": parts.path.lstrip("/") or db.DATABASE,
        "COP_DBT_SSLMODE": query.get("sslmode", ["prefer"])[0],
        "COP_DBT_ROLE": security.TRANSFORM_ROLE,
    }


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _is_deprecation(event_name: str) -> bool:
    return "Deprecat" in event_name


def run_dbt(command: Sequence[str], target_path: Path | None = None, quiet: bool = False) -> BuildResult:
    """Run one dbt command (e.g. ["build", "--full-refresh"]) on this COP_HOME's warehouse. `quiet`
    keeps dbt's console to its errors (its full log is in COP_HOME/dbt/logs): for Airflow task logs,
    where dbt's closing 'ERROR=0' tally reads as a red error line under a green task."""
    from dbt.cli.main import dbtRunner

    url = db.role_url(security.TRANSFORM_ROLE)
    dbt_home = state_dir("dbt")
    args = [*(["--quiet", "--no-use-colors"] if quiet else []), *command, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(target_path or dbt_home / "target"), "--log-path", str(dbt_home / "logs")]
    result = BuildResult(success=False, command=list(command), seconds=0.0)

    def on_event(event) -> None:
        info = event.info
        if info.level == "warn" or _is_deprecation(info.name):
            message = f"{info.name}: {info.msg}"
            result.warnings.append(message)
            if _is_deprecation(info.name):
                result.deprecations.append(message)

    started = time.perf_counter()
    with _environment(dbt_environment(url)):
        outcome = dbtRunner(callbacks=[on_event]).invoke(args)
    result.seconds = time.perf_counter() - started
    if outcome.exception is not None:
        result.error = f"dbt could not run: {outcome.exception}"
    for node_result in getattr(outcome.result, "results", None) or []:
        status = str(getattr(node_result.status, "value", node_result.status))
        result.statuses[status] = result.statuses.get(status, 0) + 1
        kind = getattr(node_result.node, "resource_type", "")
        result.nodes.append({"type": str(getattr(kind, "value", kind)), "status": status,
                             "name": node_result.node.name, "message": (node_result.message or "").strip()})
        if status in FAILED_STATUSES:
            result.failures.append(f"{node_result.node.unique_id}: {(node_result.message or '').strip()}")
    result.success = bool(outcome.success) and not result.failures and result.error is None
    return result


def build(full_refresh: bool = False, select: str | Sequence[str] | None = None, quiet: bool = False) -> BuildResult:
    """`dbt build`: snapshot the registry, build staging -> intermediate -> marts, run every test.
    With full_refresh, incremental facts are rebuilt from raw (the numbers must not change).
    `select` (dbt selection syntax) builds part of the project, with only the tests whose every
    parent is selected (dbt's "buildable" indirect selection)."""
    end_overdue_reader_sessions()
    analyze_raw()
    command = ["build"]
    if full_refresh:
        command.append("--full-refresh")
    if select:
        command += ["--select", *([select] if isinstance(select, str) else select),
                    "--indirect-selection", "buildable"]
    return run_dbt(command, quiet=quiet)


RAW_TABLES_READ_BY_THE_BUILD = (("raw", "submissions"), ("raw", "return_rows"), ("raw", "return_values"),
                                ("audit", "problems"))


def end_overdue_reader_sessions() -> int:
    """A reader that switched its statement timeout off must not hold up the build, which locks the marts
    it replaces: end the reader sessions that overran their timeout (cop/sql/070_least_privilege.sql)."""
    with db.connect_as(security.TRANSFORM_ROLE, autocommit=True) as conn:
        return conn.execute("select security.end_overdue_reader_sessions()").fetchone()[0]


def analyze_raw() -> None:
    """Fresh planner statistics on the tables the intake fills. Right after a backfill, autovacuum has
    not caught up, and PostgreSQL plans the build's joins for the nearly empty tables it last saw
    (an incremental build then took longer than a full one). ANALYZE samples, so it stays well under a
    second however large the tables grow."""
    with db.connect_as(security.TRANSFORM_ROLE, autocommit=True) as conn:
        for schema, table in RAW_TABLES_READ_BY_THE_BUILD:
            conn.execute(sql.SQL("analyze {}").format(sql.Identifier(schema, table)))


def docs_dir() -> Path:
    return state_dir("outputs") / "dbt-docs"


def generate_docs() -> Path:
    """`dbt docs generate` into COP_HOME/outputs/dbt-docs; returns the self-contained HTML page."""
    result = run_dbt(["docs", "generate", "--static"], target_path=docs_dir())
    if not result.success:
        raise BuildError(result.failure_report())
    return docs_dir() / "static_index.html"

