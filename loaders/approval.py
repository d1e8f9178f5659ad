"""The federal desk's review of each province-month: approve, return with a reason, unlock for a time.

The state of a month is defined once, in the database (review.month_states, cop/sql/040_review.sql);
this module reads it and records decisions in review.actions (the audit log: who, when, why), under
the same per-month advisory lock as the intake, so a decision and a submission of the same month never
interleave. Only an enabled federal reviewer account (portal.users) may decide; anybody else, a
province above all, is refused with a reason.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg

from cop import db
from cop.period import PeriodError, format_period, parse_period
from cop.security import PORTAL_ROLE

MAX_UNLOCK_DAYS = 30
STATE_COLUMNS = (
    "province_code", "period", "due_at", "lock_at", "files", "accepted_versions", "rejected_files",
    "duplicate_files", "first_accepted_at", "last_submission_id", "current_submission_id", "current_version",
    "reporting_state", "review_state", "is_locked", "lock_reason", "unlocked_until", "last_action", "last_actor",
    "last_reason", "last_action_at")
REVIEW_LABELS = {"awaiting": "Awaiting", "received": "Received, awaiting review", "approved": "Approved",
                 "returned": "Returned to the province"}


class ReviewRefused(ValueError):
    """The decision cannot be taken (wrong account, wrong state, no reason): nothing was recorded."""


class ReviewWording:
    """How a month's review state reads, for anything that carries `review_state` and `last_reason`."""
    review_state: str
    last_reason: str | None

    @property
    def review_label(self) -> str:
        return REVIEW_LABELS[self.review_state]

    @property
    def return_reason(self) -> str | None:
        return self.last_reason if self.review_state == "returned" else None


@dataclass(frozen=True)
class MonthState(ReviewWording):
    province_code: str
    period: dt.date
    due_at: dt.datetime
    lock_at: dt.datetime
    files: int
    accepted_versions: int
    rejected_files: int
    duplicate_files: int
    first_accepted_at: dt.datetime | None
    last_submission_id: int | None
    current_submission_id: int | None
    current_version: int | None
    reporting_state: str
    review_state: str
    is_locked: bool
    lock_reason: str | None
    unlocked_until: dt.datetime | None
    last_action: str | None
    last_actor: str | None
    last_reason: str | None
    last_action_at: dt.datetime | None

    @property
    def name(self) -> str:
        return f"{self.province_code} {format_period(self.period)}"


@dataclass(frozen=True)
class LogEntry:
    at: dt.datetime
    actor: str
    event: str
    submission_id: int | None
    version: int | None
    detail: str | None
    unlocked_until: dt.datetime | None


def month_of(period: str | dt.date) -> dt.date:
    try:
        return parse_period(period)
    except PeriodError as exc:
        raise ReviewRefused(str(exc)) from exc


def month_states(conn: psycopg.Connection, first: dt.date, last: dt.date, at: dt.datetime | None = None,
                 province: str | None = None) -> list[MonthState]:
    """Every province-month from first to last (or one province's), as of `at` (default now)."""
    rows = conn.execute("select * from review.month_states(%s, %s, coalesce(%s, now())) "
                        "where %s::text is null or province_code = %s",
                        (first, last, at, province, province)).fetchall()
    return [MonthState(*row) for row in rows]


def month_state(conn: psycopg.Connection, province: str, period: dt.date,
                at: dt.datetime | None = None) -> MonthState:
    states = month_states(conn, period, period, at, province)
    if not states:
        raise ReviewRefused(f"there is no province '{province}'")
    return states[0]


def state(province: str, period: str | dt.date, at: dt.datetime | None = None) -> MonthState:
    with db.connect_as(PORTAL_ROLE) as conn:
        return month_state(conn, province.upper(), month_of(period), at)


def returned_months(province: str, at: dt.datetime | None = None) -> list[MonthState]:
    """The province's months whose current version the federal desk has returned, oldest first."""
    with db.connect_as(PORTAL_ROLE) as conn:
        first, last = conn.execute("select min(period), max(period) from raw.submissions where province_code = %s",
                                   (province,)).fetchone()
        if first is None:
            return []
        return [m for m in month_states(conn, first, last, at, province) if m.review_state == "returned"]


def month_log(province: str, period: str | dt.date) -> list[LogEntry]:
    """The audit trail of a province-month: files received and decisions taken, oldest first."""
    with db.connect_as(PORTAL_ROLE) as conn:
        rows = conn.execute(
            "select at, actor, event, submission_id, version, detail, unlocked_until from review.month_log "
            "where province_code = %s and period = %s order by at, submission_id nulls last",
            (province.upper(), month_of(period))).fetchall()
    return [LogEntry(*row) for row in rows]


# ---------------------------------------------------------------- decisions


def approve(province: str, period: str | dt.date, reviewer: str, note: str | None = None,
            at: dt.datetime | None = None) -> MonthState:
    """Approve the current version of a received month; it locks."""
    def check(month: MonthState) -> None:
        _needs_a_version(month, "approve")
        if month.review_state == "approved":
            raise ReviewRefused(f"{month.name} version {month.current_version} is already approved")
        if month.review_state == "returned":
            raise ReviewRefused(f"{month.name} was returned to the province; approve its resubmission "
                                f"when it comes")
    return _decide(province, period, reviewer, "approve", check, reason=note, at=at)


def return_month(province: str, period: str | dt.date, reviewer: str, reason: str,
                 at: dt.datetime | None = None) -> MonthState:
    """Send the current version back to the province with a reason; the month stays open for a resubmission."""
    def check(month: MonthState) -> None:
        _needs_a_version(month, "return")
        if month.review_state != "received":
            raise ReviewRefused(f"{month.name} is {month.review_label.lower()}: only a received version can be "
                                f"returned" + ("; unlock it first" if month.review_state == "approved" else ""))
    return _decide(province, period, reviewer, "return", check, reason=_required(reason, "returning"), at=at)


def unlock(province: str, period: str | dt.date, reviewer: str, reason: str, days: int = 7,
           at: dt.datetime | None = None) -> MonthState:
    """Let the province revise a locked month until `days` from now (an approval ends it sooner)."""
    if not 1 <= days <= MAX_UNLOCK_DAYS:
        raise ReviewRefused(f"an unlock lasts 1 to {MAX_UNLOCK_DAYS} days, not {days}")

    def check(month: MonthState) -> None:
        if not month.is_locked:
            raise ReviewRefused(f"{month.name} is not locked" + (
                f" (unlocked until {month.unlocked_until:%Y-%m-%d %H:%M %Z})" if month.unlocked_until else ""))
    return _decide(province, period, reviewer, "unlock", check, reason=_required(reason, "an unlock"), at=at,
                   days=days)


def _needs_a_version(month: MonthState, verb: str) -> None:
    if month.current_submission_id is not None:
        return
    if month.rejected_files:
        raise ReviewRefused(f"cannot {verb} {month.name}: its {month.rejected_files} file(s) were all rejected, "
                            f"so there are no figures to {verb}")
    raise ReviewRefused(f"cannot {verb} {month.name}: no return has been received for it")


def _required(reason: str | None, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise ReviewRefused(f"{what[0].upper()}{what[1:]} needs a reason the province can read")
    return text


def _reviewer(conn: psycopg.Connection, username: str) -> None:
    row = conn.execute("select role, province_code, disabled from portal.users where username = %s",
                       (username,)).fetchone()
    if row is None:
        raise ReviewRefused(f"'{username}' is not a portal account; decisions are taken by federal reviewers "
                            f"(cop users add NAME --role federal)")
    role, province, disabled = row
    if role != "federal":
        raise ReviewRefused(f"'{username}' is a province account ({province}): only the federal desk approves, "
                            f"returns or unlocks a month")
    if disabled:
        raise ReviewRefused(f"'{username}' is disabled")


def _decide(province: str, period: str | dt.date, reviewer: str, action: str, check, reason: str | None,
            at: dt.datetime | None, days: int | None = None) -> MonthState:
    from loaders.intake import lock_month

    code, month = province.strip().upper(), month_of(period)
    at = at or dt.datetime.now(dt.timezone.utc)
    with db.connect_as(PORTAL_ROLE, autocommit=True) as conn, conn.transaction():
        _reviewer(conn, reviewer)
        lock_month(conn, code, month)
        current = month_state(conn, code, month, at)
        check(current)
        conn.execute(
            "insert into review.actions (province_code, period, action, submission_id, actor, reason, at, "
            "unlocked_until) values (%s, %s, %s, %s, %s, %s, %s, %s)",
            (code, month, action, current.current_submission_id, reviewer, reason, at,
             at + dt.timedelta(days=days) if days else None))
        return month_state(conn, code, month, at)
