"""The single entry point of every front door: a province's file in, a receipt out.

    submit_file(content, file_name, province, period, submitted_by) -> Receipt

Land the exact bytes (sha256), then, in ONE transaction under a lock per
(province, month) (a row of raw.intake_month_locks): spot a duplicate, read, map and validate, number
the version, register the submission with its problems and, when accepted,
COPY its rows into raw. A crash anywhere before COMMIT leaves nothing behind
but the landed bytes (content-addressed, so harmless); two submissions of the
same month are serialised and get consecutive versions.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field as dataclass_field
from pathlib import Path
from typing import Callable

import psycopg

from cop import db
from cop.paths import state_dir
from cop.period import PeriodError, format_period, parse_period
from cop.registry import UnknownProvince, load_registry
from cop.security import LOADER_ROLE
from cop.spec import Amendment, form_for, load_amendment, load_form
from loaders.history import fetch_history
from loaders.landing import land, sha256_of
from loaders.load import load_rows
from loaders.problems import (Problem, RuleCount, bound_problems, problem, sort_problems, write_problem_csv,
                              write_problem_xlsx)
from loaders.reading import ReadError, read_table
from loaders.report import write_report
from loaders.sandbox import ChildFailed, run_isolated, start as start_sandbox
from loaders.validation import CheckedReturn, check_return, period_problems

# A test hook in the real code path: sleep this many seconds after the rows are
# COPYed and before COMMIT, so that a test can kill the process mid-transaction.
PAUSE_BEFORE_COMMIT_ENV = "COP_INTAKE_PAUSE_BEFORE_COMMIT"
# How long a file waits for another file of the same province and month to be decided.
MONTH_LOCK_WAIT_ENV = "COP_INTAKE_MONTH_LOCK_WAIT_SECONDS"
MONTH_LOCK_WAIT_SECONDS = 120  # longer than any verdict takes, even of the worst file on a busy server
DRY_RUN_PREFIX = "dry-run-"  # the folder of a "check only" run's files, under COP_HOME/validation/
_HISTORY_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="cop-history")


class SubmitError(ValueError):
    """The call itself is wrong (unknown province, bad month): no verdict on the file is possible."""


class MonthBusy(RuntimeError):
    """Another file of the same province and month was still being decided after the wait: nothing was
    recorded; send the file again in a minute (the portal answers 409, the inbox task retries)."""

    retry_after_seconds = 60


class MonthLocked(SubmitError):
    """A revision of a locked month (approved, or past its lock date): refused, and the refusal audited."""


class _CountedProblems:
    """Totals of every problem found, from `counts` (the details kept may be fewer: spec outputs)."""
    counts: list[RuleCount]

    @property
    def error_count(self) -> int:
        return sum(c.total for c in self.counts if c.severity == "error")

    @property
    def warning_count(self) -> int:
        return sum(c.total for c in self.counts if c.severity == "warning")


@dataclass
class Receipt(_CountedProblems):
    submission_id: int | None
    status: str
    province: str
    period: str
    version: int | None
    rows: int
    errors: list[Problem]
    warnings: list[Problem]
    file_name: str
    file_size: int
    sha256: str
    submitted_by: str
    channel: str
    received_at: dt.datetime
    dry_run: bool = False
    duplicate_of: int | None = None
    supersedes: int | None = None
    folder: Path | None = None
    timings: dict[str, float] = dataclass_field(default_factory=dict)
    # Every problem counted by rule; `errors` and `warnings` hold the details kept (spec: outputs).
    counts: list[RuleCount] = dataclass_field(default_factory=list)

    @property
    def details_cut(self) -> int:
        return sum(c.cut for c in self.counts)

    @property
    def problems_csv(self) -> Path | None:
        return self.folder / "problems.csv" if self.folder else None

    @property
    def problems_xlsx(self) -> Path | None:
        return self.folder / "problems.xlsx" if self.folder else None

    @property
    def report_html(self) -> Path | None:
        return self.folder / "report.html" if self.folder else None

    @property
    def exit_code(self) -> int:
        return 1 if self.status == "rejected" else 0

    @property
    def summary(self) -> str:
        """One line for a person: the verdict and why."""
        what = f"{self.province} {self.period}"
        counts = f"{self.rows} rows, {self.error_count} errors, {self.warning_count} warnings"
        if self.status == "duplicate":
            return f"duplicate: {what} already received as submission {self.duplicate_of} (version {self.version})"
        version = f" as version {self.version}" if self.version else ""
        replaces = f", replaces submission {self.supersedes}" if self.supersedes else ""
        check = " (check only)" if self.dry_run else ""
        first = f"; first error: row {self.errors[0].row}: {self.errors[0].message}" if self.errors else ""
        return f"{self.status}{check}: {what}{version}{replaces}; {counts}{first}"

    def to_dict(self) -> dict:
        return {
            "submission_id": self.submission_id, "status": self.status, "province": self.province,
            "period": self.period, "version": self.version, "rows": self.rows,
            "errors": [p.to_dict() for p in self.errors], "warnings": [p.to_dict() for p in self.warnings],
            "error_count": self.error_count, "warning_count": self.warning_count,
            "problem_counts": [c.to_dict() for c in self.counts],
            "file_name": self.file_name, "file_size": self.file_size, "sha256": self.sha256,
            "submitted_by": self.submitted_by, "channel": self.channel, "received_at": self.received_at.isoformat(),
            "dry_run": self.dry_run, "duplicate_of": self.duplicate_of, "supersedes": self.supersedes,
            "summary": self.summary, "problems_csv": _text(self.problems_csv), "problems_xlsx": _text(self.problems_xlsx),
            "report_html": _text(self.report_html), "timings_ms": {k: round(v * 1000, 1) for k, v in self.timings.items()},
        }


def _text(path: Path | None) -> str | None:
    return str(path) if path else None


@dataclass
class _Verdict(_CountedProblems):
    problems: list[Problem]       # the details kept: at most outputs.max_stored_problems_per_rule per rule
    checked: CheckedReturn | None
    timings: dict[str, float]
    counts: list[RuleCount]

    @classmethod
    def of(cls, problems: list[Problem], checked: CheckedReturn | None, timings: dict[str, float]) -> "_Verdict":
        kept, counts = bound_problems(sort_problems(problems), load_form().outputs.max_stored_problems_per_rule)
        return cls(kept, checked, timings, counts)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    @property
    def status(self) -> str:
        return "rejected" if any(c.severity == "error" for c in self.counts) else "accepted"

    @property
    def rows(self) -> int:
        return len(self.checked.frame) if self.checked else 0


# ---------------------------------------------------------------- the entry point


def submit_file(content: bytes, file_name: str, province: str, period: str | dt.date, submitted_by: str,
                channel: str = "cli", received_at: dt.datetime | None = None, dry_run: bool = False) -> Receipt:
    """Judge one province's return for one month; unless `dry_run`, land, register and (if accepted) load it."""
    amendment = _amendment(province)
    month = _month(period)
    received_at = received_at or dt.datetime.now(dt.timezone.utc)
    if received_at.tzinfo is None:
        raise SubmitError("received_at must carry a time zone")
    receipt = Receipt(
        submission_id=None, status="", province=amendment.province, period=format_period(month), version=None,
        rows=0, errors=[], warnings=[], file_name=file_name, file_size=len(content), sha256=sha256_of(content),
        submitted_by=submitted_by, channel=channel, received_at=received_at, dry_run=dry_run)
    if dry_run:
        return _check_only(content, amendment, month, receipt)
    _, landed = land(content)
    start_sandbox()  # a cold start (seconds) before the month's lock, which other files of the month wait on
    with db.connect_as(LOADER_ROLE, autocommit=True) as conn:
        with conn.transaction():
            lock_month(conn, amendment.province, month)
            if _is_duplicate(conn, receipt, month):
                return receipt
            refusal = _lock_refusal(conn, amendment.province, month, received_at)
            if refusal is None:
                verdict = _judge(content, amendment, month, received_at)
                _register(conn, receipt, verdict, month, landed)
                _pause_if_asked()
        if refusal is not None:
            conn.execute("insert into review.actions (province_code, period, action, actor, reason, at) "
                         "values (%s, %s, 'refuse_revision', %s, %s, %s)",
                         (amendment.province, month, submitted_by, f"locked month, file {file_name}", received_at))
            raise MonthLocked(refusal)
    return receipt


def _amendment(province: str) -> Amendment:
    try:
        return load_amendment(load_registry().province(province).province_code)
    except UnknownProvince as exc:
        raise SubmitError(str(exc)) from exc


def _month(period: str | dt.date) -> dt.date:
    try:
        return parse_period(period)
    except PeriodError as exc:
        raise SubmitError(str(exc)) from exc


def lock_month(conn: psycopg.Connection, province: str, month: dt.date) -> None:
    """Serialise the files of one (province, month) until the caller's transaction ends: a row lock that
    only the intake role can take (an advisory lock, any login could take and so block the intake)."""
    wait = float(os.environ.get(MONTH_LOCK_WAIT_ENV) or MONTH_LOCK_WAIT_SECONDS)
    conn.execute("select set_config('lock_timeout', %s, true)", (f"{max(1, round(wait * 1000))}ms",))
    try:
        conn.execute("insert into raw.intake_month_locks (province_code, period) values (%s, %s) "
                     "on conflict (province_code, period) do update set last_taken_at = now()", (province, month))
    except psycopg.errors.LockNotAvailable:
        raise MonthBusy(f"Another file for {province} {format_period(month)} is being processed right now; "
                        f"nothing was recorded for this one. Try again in a minute.") from None
    conn.execute("set local lock_timeout to default")


def _lock_refusal(conn: psycopg.Connection, province: str, month: dt.date, at: dt.datetime) -> str | None:
    """Why a new version of the month cannot be taken now (review.month_states decides), or None."""
    # Judged when the file was received, but never before the desk's latest decision on the month: a file
    # stamped last week (a drop folder keeps its upload time) cannot slip into a month approved yesterday.
    locked, reason, lock_at, version = conn.execute(
        "select is_locked, lock_reason, lock_at, current_version from review.month_states(%(month)s, %(month)s, "
        "greatest(%(at)s, (select max(at) from review.actions where province_code = %(province)s "
        "and period = %(month)s and action <> 'refuse_revision'))) where province_code = %(province)s",
        {"month": month, "at": at, "province": province}).fetchone()
    if not locked:
        return None
    name = f"{province} {format_period(month)}"
    why = ("the federal desk approved it" if reason == "approved"
           else f"its lock date (end of {_pakistan_day(lock_at)}, Pakistan time) has passed")
    return (f"{name} is locked because {why}: a revision of version {version} cannot be accepted. "
            f"{unlock_instructions(province, month)}")


def _pakistan_day(instant: dt.datetime) -> str:
    """The day that ends at `instant` (a due or lock instant is the midnight after its day), as people read it."""
    from zoneinfo import ZoneInfo

    return (instant - dt.timedelta(seconds=1)).astimezone(ZoneInfo("Asia/Karachi")).strftime("%d %b %Y")


def unlock_instructions(province: str, month: dt.date) -> str:
    period = format_period(month)
    return (f"To revise it, ask the federal COP desk to unlock {province} {period}: a federal reviewer can grant "
            f"a time-limited unlock on the portal's month page or with `cop month unlock {province} {period} "
            f"--by REVIEWER --reason TEXT`. 'Check the file only' stays available meanwhile.")


def _judge(content: bytes, amendment: Amendment, month: dt.date, received_at: dt.datetime) -> _Verdict:
    """Read and check the file in a child process (loaders.sandbox); the history query runs here meanwhile."""
    form = form_for(month)
    history_future = _HISTORY_POOL.submit(fetch_history, amendment.province, month, form)
    problems = period_problems(month, form, received_at.date())
    started = time.perf_counter()
    try:
        found, checked, timings = run_isolated(read_and_check, content, amendment, month,
                                               answers={"history": history_future.result})
    except ChildFailed as exc:
        found, checked, timings = [_unreadable(exc)], None, {}
    # The child's own stages aside: forking it and passing the file and the verdict across (and, the
    # first time in a process, starting the forkserver).
    timings["sandbox"] = time.perf_counter() - started - sum(timings.values())
    return _Verdict.of(problems + found, checked, timings)


def read_and_check(ask: Callable[[str], object], content: bytes, amendment: Amendment,
                   month: dt.date) -> tuple[list[Problem], CheckedReturn | None, dict[str, float]]:
    """In the verdict's child process: bytes -> (problems, the checked return or None, timings).
    The month's own form version judges it, also for a revision sent after a later version started."""
    form = form_for(month)
    started = time.perf_counter()
    try:
        table = read_table(content, amendment, form.limits)
    except ReadError as exc:
        return [exc.problem], None, {"read": time.perf_counter() - started}
    timings = {"read": time.perf_counter() - started}
    checked = check_return(table, amendment, form, load_registry(), month, lambda: ask("history"))
    return checked.problems, checked, timings | checked.timings


def _unreadable(failure: ChildFailed) -> Problem:
    what = {"timeout": "Checking the file did not finish in time",
            "memory": "Reading the file needed more memory than any return needs",
            "crashed": "The file made the reader stop"}[failure.kind]
    return problem("E008", f"{what} ({failure}); nothing was loaded")


def _check_only(content: bytes, amendment: Amendment, month: dt.date, receipt: Receipt) -> Receipt:
    clean_check_outputs()
    verdict = _judge(content, amendment, month, receipt.received_at)
    _fill(receipt, verdict)
    started = time.perf_counter()
    receipt.folder = _write_outputs(state_dir("validation") / f"{DRY_RUN_PREFIX}{uuid.uuid4().hex}", receipt, verdict)
    receipt.timings["report"] = time.perf_counter() - started
    return receipt


def _fill(receipt: Receipt, verdict: _Verdict) -> None:
    receipt.status, receipt.rows = verdict.status, verdict.rows
    receipt.errors, receipt.warnings, receipt.counts = verdict.errors, verdict.warnings, verdict.counts
    receipt.timings.update(verdict.timings)


def clean_check_outputs(now: dt.datetime | None = None, days: int | None = None) -> int:
    """Delete the files of "check only" runs older than outputs.check_retention_days; returns how many.
    (Their verdicts stay where the caller recorded them, e.g. the portal's checks.)"""
    days = load_form().outputs.check_retention_days if days is None else days
    cutoff = (now or dt.datetime.now(dt.timezone.utc)).timestamp() - days * 86400
    removed = 0
    for folder in state_dir("validation").glob(f"{DRY_RUN_PREFIX}*"):
        try:
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder)
                removed += 1
        except FileNotFoundError:
            continue  # another process cleaned it meanwhile
    return removed


# ---------------------------------------------------------------- registering


def _is_duplicate(conn: psycopg.Connection, receipt: Receipt, month: dt.date) -> bool:
    """The same bytes as the month's latest version: register the repeat, change nothing else.

    Only the latest version counts: sending an older file again is a deliberate
    revision back to it, and becomes a new version."""
    latest = conn.execute(
        "select submission_id, version, sha256, row_count, error_count, warning_count from raw.submissions "
        "where province_code = %s and period = %s and version is not null order by version desc limit 1",
        (receipt.province, month)).fetchone()
    if latest is None or latest[2] != receipt.sha256:
        return False
    original, version, _, rows, errors, warnings = latest
    receipt.submission_id = _insert_submission(conn, receipt, month, "duplicate", None, rows, errors, warnings,
                                               duplicate_of=original)
    problems = _problems_of(conn, original)
    receipt.status, receipt.version, receipt.rows, receipt.duplicate_of = "duplicate", version, rows or 0, original
    receipt.errors = [p for p in problems if p.is_error]
    receipt.warnings = [p for p in problems if not p.is_error]
    receipt.counts = problem_counts_of(conn, original)
    receipt.folder = state_dir("validation") / str(original)
    return True


def _register(conn: psycopg.Connection, receipt: Receipt, verdict: _Verdict, month: dt.date, landed: Path) -> None:
    started = time.perf_counter()
    _fill(receipt, verdict)
    receipt.version = conn.execute(
        "select coalesce(max(version), 0) + 1 from raw.submissions where province_code = %s and period = %s",
        (receipt.province, month)).fetchone()[0]
    receipt.supersedes = _current_accepted(conn, receipt.province, month) if verdict.status == "accepted" else None
    receipt.submission_id = _insert_submission(
        conn, receipt, month, verdict.status, receipt.version, verdict.rows if verdict.checked else None,
        verdict.error_count, verdict.warning_count, landed=landed)
    _copy_problems(conn, receipt.submission_id, verdict.problems, verdict.counts)
    if verdict.status == "accepted":
        load_rows(conn, receipt.submission_id, verdict.checked, receipt.province, month)
    receipt.timings["load"] = time.perf_counter() - started
    started = time.perf_counter()
    receipt.folder = _write_outputs(state_dir("validation") / str(receipt.submission_id), receipt, verdict)
    receipt.timings["report"] = time.perf_counter() - started


def _current_accepted(conn: psycopg.Connection, province: str, month: dt.date) -> int | None:
    row = conn.execute("select submission_id from raw.submissions where province_code = %s and period = %s "
                       "and status = 'accepted' order by version desc limit 1", (province, month)).fetchone()
    return row[0] if row else None


def _insert_submission(conn: psycopg.Connection, receipt: Receipt, month: dt.date, status: str,
                       version: int | None, rows: int | None, errors: int, warnings: int,
                       duplicate_of: int | None = None, landed: Path | None = None) -> int:
    landed = landed or _landed_path_of(conn, duplicate_of)
    return conn.execute(
        "insert into raw.submissions (province_code, period, version, status, received_at, submitted_by, channel, "
        "file_name, file_size, sha256, landed_path, row_count, error_count, warning_count, duplicate_of) "
        "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) returning submission_id",
        (receipt.province, month, version, status, receipt.received_at, receipt.submitted_by, receipt.channel,
         receipt.file_name, receipt.file_size, receipt.sha256, str(landed), rows, errors, warnings,
         duplicate_of)).fetchone()[0]


def _landed_path_of(conn: psycopg.Connection, submission_id: int) -> str:
    return conn.execute("select landed_path from raw.submissions where submission_id = %s",
                        (submission_id,)).fetchone()[0]


def _copy_problems(conn: psycopg.Connection, submission_id: int, problems: list[Problem],
                   counts: list[RuleCount]) -> None:
    with conn.cursor().copy("copy audit.problems (submission_id, problem_no, severity, rule, source_row, "
                            "column_name, field, unit_code, value, message, score) from stdin") as copy:
        for number, p in enumerate(problems, start=1):
            copy.write_row((submission_id, number, p.severity, p.rule, p.row, p.column, p.field, p.unit_code,
                            p.value, p.message, p.score))
    with conn.cursor().copy("copy audit.problem_counts (submission_id, rule, severity, total, stored) "
                            "from stdin") as copy:
        for c in counts:
            copy.write_row((submission_id, c.rule, c.severity, c.total, c.stored))


def problem_counts_of(conn: psycopg.Connection, submission_id: int) -> list[RuleCount]:
    """Every problem of a submission counted by rule (errors first, the most frequent first)."""
    form = load_form()
    rows = conn.execute("select rule, severity, total, stored from audit.problem_counts where submission_id = %s "
                        "order by severity = 'warning', total desc, rule", (submission_id,)).fetchall()
    return [RuleCount(rule, severity, form.rules[rule].title if rule in form.rules else rule, total, stored)
            for rule, severity, total, stored in rows]


def _problems_of(conn: psycopg.Connection, submission_id: int) -> list[Problem]:
    form = load_form()
    rows = conn.execute("select severity, rule, message, source_row, column_name, value, field, unit_code, score "
                        "from audit.problems where submission_id = %s order by problem_no", (submission_id,))
    return [Problem(severity=s, rule=r, title=form.rules[r].title if r in form.rules else r, message=m, row=row,
                    column=c, value=v, field=f, unit_code=u, score=score)
            for s, r, m, row, c, v, f, u, score in rows]


def _write_outputs(folder: Path, receipt: Receipt, verdict: _Verdict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    problems = verdict.problems
    write_problem_csv(problems, folder / "problems.csv")
    write_problem_xlsx(problems, folder / "problems.xlsx", verdict.counts)
    receipt.folder = folder
    details = receipt.to_dict() | {"province_name": load_amendment(receipt.province).name,
                                   "errors": verdict.errors, "warnings": verdict.warnings}
    write_report(details, problems, verdict.checked.outcomes if verdict.checked else [], folder, verdict.counts)
    return folder


def _pause_if_asked() -> None:
    seconds = float(os.environ.get(PAUSE_BEFORE_COMMIT_ENV) or 0)
    if seconds > 0:
        print(f"intake: rows loaded, pausing {seconds:g}s before commit", file=sys.stderr, flush=True)
        time.sleep(seconds)


# ---------------------------------------------------------------- listing


def list_submissions(province: str | None = None, period: str | dt.date | None = None) -> list[dict]:
    """Every submission, oldest month first, with its version, verdict and whether it is the month's current one."""
    conditions, parameters = [], []
    if province:
        conditions.append("s.province_code = %s")
        parameters.append(_amendment(province).province)
    if period:
        conditions.append("s.period = %s")
        parameters.append(_month(period))
    where = f"where {' and '.join(conditions)}" if conditions else ""
    query = f"""
        select s.submission_id, s.province_code, to_char(s.period, 'YYYY-MM') as period, s.version, s.status,
               s.received_at, s.submitted_by, s.channel, s.file_name, s.file_size, s.sha256, s.row_count,
               s.error_count, s.warning_count, s.duplicate_of,
               s.submission_id = (select c.submission_id from raw.submissions c
                                  where c.province_code = s.province_code and c.period = s.period
                                    and c.status = 'accepted' order by c.version desc limit 1) as is_current
        from raw.submissions s {where}
        order by s.province_code, s.period, s.submission_id"""
    with db.connect_as(LOADER_ROLE) as conn:
        cursor = conn.execute(query, parameters)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
