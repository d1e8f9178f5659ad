"""What federal staff see: who reported each month, on time or not, and where the problems cluster.

Computed from the intake's own tables (raw.submissions, raw.return_rows, audit.problems) and the
registry as synced into raw.ref_*, not from the marts: a province that uploads at 16:55 on the due
date must see "on time" on the federal screen at 16:56, not after the next warehouse build. The
definitions are those of marts.rpt_reporting_completeness (dbt_project/models/marts), so the
screen and the annual report agree once the warehouse is rebuilt:
  - due_at: the end of day `due_day` of the following month, Pakistan time;
  - expected units: units the registry shows open that month, in the province of their version
    valid that month; reported units: those with a row in the month's latest accepted version;
  - a unit is on time when an accepted version first carried its row before due_at.
A province-month is on time / late by its first accepted version, "rejected" when files came but
none was accepted, "missing" when nothing came and the due date has passed, and "not yet due"
before that. "Revised" marks a month with more than one accepted version. These states, the federal
review (received, approved, returned) and the lock come from review.month_states, the one definition
shared with the intake, the reminders and the completeness mart.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from cop import db
from cop.security import PORTAL_ROLE
from cop.paths import state_dir
from cop.period import add_months, format_period, last_completed_month
from loaders.approval import ReviewWording
from cop.spec import load_form

STATE_LABELS = {
    "on_time": "On time",
    "late": "Late",
    "rejected": "Rejected",
    "missing": "Missing",
    "not_due": "Not yet due",
}


@dataclass
class MonthCell(ReviewWording):
    province_code: str
    month: dt.date
    due_at: dt.datetime
    files: int = 0
    accepted_versions: int = 0
    rejected_files: int = 0
    duplicate_files: int = 0
    first_accepted_at: dt.datetime | None = None
    latest_submission_id: int | None = None
    latest_version: int | None = None
    last_submission_id: int | None = None
    units_expected: int = 0
    units_reported: int = 0
    units_on_time: int = 0
    state: str = "missing"
    review_state: str = "awaiting"
    is_locked: bool = False
    lock_reason: str | None = None
    lock_at: dt.datetime | None = None
    unlocked_until: dt.datetime | None = None
    last_action: str | None = None
    last_actor: str | None = None
    last_reason: str | None = None
    last_action_at: dt.datetime | None = None

    @property
    def period(self) -> str:
        return format_period(self.month)

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def revised(self) -> bool:
        return self.accepted_versions > 1

    @property
    def reporting_rate(self) -> float | None:
        return self.units_reported / self.units_expected if self.units_expected else None


@dataclass
class ProvinceRow:
    province_code: str
    province_name: str
    cells: list[MonthCell] = field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(1 for c in self.cells if c.state == state)

    @property
    def revised(self) -> int:
        return sum(1 for c in self.cells if c.revised)

    @property
    def units_expected(self) -> int:
        return sum(c.units_expected for c in self.cells if c.state != "not_due")

    @property
    def reporting_rate(self) -> float | None:
        expected = self.units_expected
        return sum(c.units_reported for c in self.cells if c.state != "not_due") / expected if expected else None

    @property
    def on_time_rate(self) -> float | None:
        expected = self.units_expected
        return sum(c.units_on_time for c in self.cells if c.state != "not_due") / expected if expected else None


@dataclass
class StatusMatrix:
    months: list[dt.date]
    provinces: list[ProvinceRow]
    as_of: dt.datetime

    def total(self, state: str) -> int:
        return sum(p.count(state) for p in self.provinces)

    def review_total(self, review_state: str) -> int:
        return sum(1 for p in self.provinces for c in p.cells if c.review_state == review_state)

    @property
    def revised(self) -> int:
        return sum(p.revised for p in self.provinces)

    @property
    def reporting_rate(self) -> float | None:
        expected = sum(p.units_expected for p in self.provinces)
        reported = sum(c.units_reported for p in self.provinces for c in p.cells if c.state != "not_due")
        return reported / expected if expected else None

    @property
    def on_time_rate(self) -> float | None:
        expected = sum(p.units_expected for p in self.provinces)
        on_time = sum(c.units_on_time for p in self.provinces for c in p.cells if c.state != "not_due")
        return on_time / expected if expected else None


# The state of each province-month comes from review.month_states (cop/sql/040_review.sql), the one
# definition shared with the intake, the deadline reminders and the completeness mart; this query adds
# the police stations expected, reported and on time.
_MATRIX_SQL = """
with states as (
    select * from review.month_states(%(first)s, %(last)s, %(now)s)
),
months as (
    select generate_series(%(first)s::date, %(last)s::date, interval '1 month')::date as month
),
expected as (
    select u.province_code, m.month, u.unit_code
    from months m
    join raw.ref_units u
      on u.valid_from <= m.month and (u.valid_to is null or u.valid_to >= m.month)
     and u.opened_on <= (m.month + interval '1 month' - interval '1 day')::date
     and (u.closed_on is null or u.closed_on >= m.month)
),
first_carried as (
    select r.province_code, r.period as month, r.unit_code, min(s.received_at) as first_at
    from raw.return_rows r
    join raw.submissions s on s.submission_id = r.submission_id and s.status = 'accepted'
    where r.period between %(first)s and %(last)s and s.received_at <= %(now)s
    group by r.province_code, r.period, r.unit_code
),
units as (
    select e.province_code, e.month,
           count(*) as units_expected,
           count(lr.unit_code) as units_reported,
           count(lr.unit_code) filter (where fc.first_at < st.due_at) as units_on_time
    from expected e
    join states st on st.province_code = e.province_code and st.period = e.month
    left join raw.return_rows lr on lr.submission_id = st.current_submission_id and lr.unit_code = e.unit_code
    left join first_carried fc on fc.province_code = e.province_code and fc.month = e.month
                               and fc.unit_code = e.unit_code
    group by e.province_code, e.month
)
select st.province_code, st.period, st.due_at, st.files, st.accepted_versions, st.rejected_files,
       st.duplicate_files, st.first_accepted_at, st.current_submission_id, st.current_version,
       st.last_submission_id, coalesce(u.units_expected, 0), coalesce(u.units_reported, 0),
       coalesce(u.units_on_time, 0), st.reporting_state, st.review_state, st.is_locked, st.lock_reason,
       st.lock_at, st.unlocked_until, st.last_action, st.last_actor, st.last_reason, st.last_action_at
from states st
left join units u on u.province_code = st.province_code and u.month = st.period
order by st.province_code, st.period
"""


def default_last_month(now: dt.datetime) -> dt.date:
    return last_completed_month(now.date())


def status_matrix(last: dt.date, months: int = 12, now: dt.datetime | None = None,
                  provinces: list[str] | None = None) -> StatusMatrix:
    """Province x month for the `months` months ending with `last`, as of `now`."""
    now = now or dt.datetime.now(dt.timezone.utc)
    first = add_months(last, -(months - 1))
    with db.connect_as(PORTAL_ROLE) as conn:
        names = dict(conn.execute("select province_code, province_name from raw.ref_provinces"))
        rows = conn.execute(_MATRIX_SQL, {"first": first, "last": last, "now": now}).fetchall()
    by_province: dict[str, ProvinceRow] = {}
    for row in rows:
        cell = MonthCell(*row)
        if provinces is None or cell.province_code in provinces:
            by_province.setdefault(cell.province_code,
                                   ProvinceRow(cell.province_code, names[cell.province_code])).cells.append(cell)
    order = _registry_order()
    ordered = sorted(by_province.values(), key=lambda p: order.get(p.province_code, 99))
    return StatusMatrix([add_months(first, i) for i in range(months)], ordered, now)


def _registry_order() -> dict[str, int]:
    from cop.registry import load_registry

    return {code: i for i, code in enumerate(load_registry().province_codes)}


def month_cell(province: str, month: dt.date, now: dt.datetime | None = None) -> MonthCell:
    return status_matrix(month, 1, now, [province]).provinces[0].cells[0]


# ---------------------------------------------------------------- problems


@dataclass
class RuleCount:
    rule: str
    title: str
    severity: str
    total: int
    submissions: int
    by_province: dict[str, int]
    top_fields: list[tuple[str, int]]


def problem_counts(first: dt.date, last: dt.date, severity: str | None = None, limit: int = 20) -> list[RuleCount]:
    """The rules broken most often in the files received for months first..last (duplicates not
    counted twice), with the count per province and the national fields hit most."""
    form = load_form()
    severity_filter = "and p.severity = %(severity)s" if severity else ""
    with db.connect_as(PORTAL_ROLE) as conn:
        rows = conn.execute(f"""
            select p.rule, p.severity, s.province_code, sum(p.total), count(distinct p.submission_id)
            from audit.problem_counts p join raw.submissions s on s.submission_id = p.submission_id
            where s.period between %(first)s and %(last)s and s.status <> 'duplicate' {severity_filter}
            group by p.rule, p.severity, s.province_code""",
                            {"first": first, "last": last, "severity": severity}).fetchall()
        # Every problem is counted (audit.problem_counts); the fields hit most come from the details kept.
        # The national field name, so that one field counts once whatever each province calls its column.
        columns = conn.execute(f"""
            select rule, name, n from (
                select p.rule, coalesce(p.field, p.column_name) as name, count(*) as n,
                       row_number() over (partition by p.rule order by count(*) desc,
                                          coalesce(p.field, p.column_name)) as rank
                from audit.problems p join raw.submissions s on s.submission_id = p.submission_id
                where s.period between %(first)s and %(last)s and s.status <> 'duplicate'
                  and coalesce(p.field, p.column_name) is not null {severity_filter}
                group by p.rule, coalesce(p.field, p.column_name)) ranked
            where rank <= 3""", {"first": first, "last": last, "severity": severity}).fetchall()
    counts: dict[str, RuleCount] = {}
    for rule, sev, province, problems, submissions in rows:
        entry = counts.setdefault(rule, RuleCount(rule, form.rules[rule].title if rule in form.rules else rule,
                                                  sev, 0, 0, {}, []))
        entry.total += problems
        entry.submissions += submissions
        entry.by_province[province] = problems
    for rule, column, n in columns:
        if rule in counts:
            counts[rule].top_fields.append((column, n))
    return sorted(counts.values(), key=lambda c: (-c.total, c.rule))[:limit]


# ---------------------------------------------------------------- pipeline runs


@dataclass(frozen=True)
class PipelineRun:
    dag_id: str
    run_id: str
    exact_ids: bool  # the ids as Airflow knows them (from the run's summary), not folder names

    def airflow_url(self) -> str | None:
        base = os.environ.get("COP_AIRFLOW_URL", "").rstrip("/")
        if not base or not self.exact_ids:
            return None
        from urllib.parse import quote

        return f"{base}/dags/{quote(self.dag_id, safe='')}/runs/{quote(self.run_id, safe='')}"


def pipeline_runs_for(submissions) -> dict[int, PipelineRun]:
    """The Airflow run that took each of `submissions` from a drop folder, from the runs' journals
    (hub/run_review.py) under COP_HOME/runs. A journal line counts only when it names the same
    submission id, province and month as a submission that came in through the inbox."""
    wanted = {s.submission_id: (s.province_code, s.period) for s in submissions if s.channel == "inbox"}
    found: dict[int, PipelineRun] = {}
    if not wanted:
        return found
    for run_folder in state_dir("runs").glob("*/*"):
        for journal in (run_folder / "provinces").glob("*.jsonl"):
            for line in journal.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if wanted.get(entry.get("submission_id")) == (entry.get("province"), entry.get("period")):
                    found[entry["submission_id"]] = _run_of(run_folder)
    return found


def _run_of(run_folder: Path) -> PipelineRun:
    summary = run_folder / "summary.json"
    if summary.exists():
        try:
            data = json.loads(summary.read_text(encoding="utf-8"))
            return PipelineRun(data["dag_id"], data["run_id"], True)
        except (json.JSONDecodeError, KeyError):
            pass
    return PipelineRun(run_folder.parent.name, run_folder.name, False)
