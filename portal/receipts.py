"""The portal's read side of the intake: a submission's receipt, its problems and its files, and the
"check only" runs. Files are found from the submission's id (COP_HOME/validation/<id>/, where the
intake writes them) or from the check's row in portal.checks, never from a path in a request."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

from cop import db
from cop.security import PORTAL_ROLE
from cop.paths import state_dir
from cop.period import format_period
from cop.spec import load_form
from loaders.intake import Receipt, problem_counts_of
from loaders.problems import RuleCount

FILES = {"problems.csv": "text/csv; charset=utf-8",
         "problems.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "report.html": "text/html; charset=utf-8"}


@dataclass
class ProblemRow:
    severity: str
    rule: str
    title: str
    row: int | None
    column: str | None
    value: str | None
    unit_code: str | None
    what: str
    fix: str
    score: float | None = None


def problem_row(severity: str, rule: str, message: str, row, column, value, unit_code, score=None) -> ProblemRow:
    """Split the intake's message ("what is wrong. how to fix it") at the rule's fix text from the spec."""
    entry = load_form().rules.get(rule)
    what, fix = message, ""
    if entry and entry.fix and message.endswith(entry.fix):
        what, fix = message[: -len(entry.fix)].strip(), entry.fix
    return ProblemRow(severity, rule, entry.title if entry else rule, row, column, value, unit_code, what, fix, score)


@dataclass
class SubmissionView:
    submission_id: int
    province_code: str
    month: dt.date
    version: int | None
    status: str
    received_at: dt.datetime
    submitted_by: str
    channel: str
    file_name: str
    file_size: int
    sha256: str
    row_count: int | None
    error_count: int
    warning_count: int
    duplicate_of: int | None
    is_current: bool = False
    supersedes: int | None = None
    superseded_by: int | None = None

    @property
    def period(self) -> str:
        return format_period(self.month)


_SUBMISSION_COLUMNS = ("submission_id, province_code, period, version, status, received_at, submitted_by, channel, "
                       "file_name, file_size, sha256, row_count, error_count, warning_count, duplicate_of")


def submission(submission_id: int) -> SubmissionView | None:
    with db.connect_as(PORTAL_ROLE) as conn:
        row = conn.execute(f"select {_SUBMISSION_COLUMNS} from raw.submissions where submission_id = %s",
                           (submission_id,)).fetchone()
        if row is None:
            return None
        view = SubmissionView(*row)
        accepted = [r[0] for r in conn.execute(
            "select submission_id from raw.submissions where province_code = %s and period = %s "
            "and status = 'accepted' order by version", (view.province_code, view.month))]
    if view.status == "accepted":
        place = accepted.index(view.submission_id)
        view.is_current = place == len(accepted) - 1
        view.supersedes = accepted[place - 1] if place else None
        view.superseded_by = accepted[place + 1] if place + 1 < len(accepted) else None
    return view


def submissions_of(province: str, month: dt.date | None = None) -> list[SubmissionView]:
    """A province's submissions (all of them or one month's), newest month first, versions in order."""
    month_filter = "and period = %s" if month else ""
    with db.connect_as(PORTAL_ROLE) as conn:
        rows = conn.execute(
            f"select {_SUBMISSION_COLUMNS}, submission_id = (select c.submission_id from raw.submissions c "
            f"where c.province_code = s.province_code and c.period = s.period and c.status = 'accepted' "
            f"order by c.version desc limit 1) from raw.submissions s where province_code = %s {month_filter} "
            f"order by period desc, submission_id", (province, month) if month else (province,)).fetchall()
    return [SubmissionView(*row[:15], is_current=bool(row[15])) for row in rows]


def all_submissions(province: str | None = None, month: dt.date | None = None, limit: int = 500) -> list[SubmissionView]:
    conditions, parameters = [], []
    if province:
        conditions.append("province_code = %s")
        parameters.append(province)
    if month:
        conditions.append("period = %s")
        parameters.append(month)
    where = f"where {' and '.join(conditions)}" if conditions else ""
    with db.connect_as(PORTAL_ROLE) as conn:
        rows = conn.execute(f"select {_SUBMISSION_COLUMNS} from raw.submissions {where} "
                            f"order by submission_id desc limit %s", (*parameters, limit)).fetchall()
    return [SubmissionView(*row) for row in rows]


def problems_of(submission_id: int) -> list[ProblemRow]:
    """The problems recorded for a submission (a duplicate shows those of the file it repeats)."""
    with db.connect_as(PORTAL_ROLE) as conn:
        source = conn.execute("select coalesce(duplicate_of, submission_id) from raw.submissions "
                              "where submission_id = %s", (submission_id,)).fetchone()
        if source is None:
            return []
        rows = conn.execute("select severity, rule, message, source_row, column_name, value, unit_code, score "
                            "from audit.problems where submission_id = %s order by problem_no", source).fetchall()
    return [problem_row(*row) for row in rows]


def problem_counts(submission_id: int) -> list[RuleCount]:
    """Every problem of the submission counted by rule (a duplicate: those of the file it repeats)."""
    with db.connect_as(PORTAL_ROLE) as conn:
        source = conn.execute("select coalesce(duplicate_of, submission_id) from raw.submissions "
                              "where submission_id = %s", (submission_id,)).fetchone()
        return problem_counts_of(conn, source[0]) if source else []


def submission_file(view: SubmissionView, name: str) -> Path | None:
    """One of the files the intake wrote for the submission (a duplicate: those of its original)."""
    if name not in FILES:
        return None
    path = state_dir("validation") / str(view.duplicate_of or view.submission_id) / name
    return path if path.is_file() else None


# ---------------------------------------------------------------- "check only" runs


@dataclass
class CheckView:
    check_id: str
    username: str
    province_code: str
    month: dt.date
    file_name: str
    status: str
    folder: Path
    receipt: dict
    created_at: dt.datetime

    @property
    def period(self) -> str:
        return format_period(self.month)

    def problems(self) -> list[ProblemRow]:
        return [problem_row(p["severity"], p["rule"], p["message"], p["row"], p["column"], p["value"], p["unit_code"],
                            p.get("score")) for p in self.receipt["errors"] + self.receipt["warnings"]]

    def counts(self) -> list[RuleCount]:
        return [RuleCount(**c) for c in self.receipt.get("problem_counts", [])]


def record_check(receipt: Receipt, username: str) -> str:
    check_id = str(uuid.uuid4())
    with db.connect_as(PORTAL_ROLE, autocommit=True) as conn:
        conn.execute("insert into portal.checks (check_id, username, province_code, period, file_name, status, "
                     "folder, receipt) values (%s, %s, %s, %s, %s, %s, %s, %s::jsonb)",
                     (check_id, username, receipt.province, receipt.period + "-01", receipt.file_name,
                      receipt.status, str(receipt.folder), json.dumps(receipt.to_dict(), default=str)))
    return check_id


def checks_since(username: str, window: dt.timedelta) -> int:
    """How many files `username` checked ("check only") within the last `window`."""
    with db.connect_as(PORTAL_ROLE) as conn:
        return conn.execute("select count(*) from portal.checks where username = %s and created_at > now() - %s",
                            (username, window)).fetchone()[0]


def check(check_id: str) -> CheckView | None:
    try:
        uuid.UUID(check_id)
    except ValueError:
        return None
    with db.connect_as(PORTAL_ROLE) as conn:
        row = conn.execute("select check_id::text, username, province_code, period, file_name, status, folder, "
                           "receipt, created_at from portal.checks where check_id = %s", (check_id,)).fetchone()
    if row is None:
        return None
    view = CheckView(*row)
    view.folder = Path(view.folder)
    return view


def check_file(view: CheckView, name: str) -> Path | None:
    if name not in FILES:
        return None
    path = view.folder / name
    return path if path.is_file() else None
