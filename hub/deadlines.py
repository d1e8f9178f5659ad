"""Reporting deadlines: who has not reported, or was rejected, once a month's due date has passed.

For each province the month looked at is the latest one whose due date (day `due_day` of the
following month, from the province's amendment) is over on the day of the check. The month's state
comes from review.month_states (cop/sql/040_review.sql), the one definition shared with the intake,
the portal and the completeness mart, read live (not from the marts) so it is right even before the
warehouse has been rebuilt; a month the federal desk returned is outstanding until resubmitted.
Expected units come from the federal registry (units open that month).

The reminder report is written to COP_HOME/reminders/<date>/ as markdown, HTML and JSON. Mail goes
out only when SMTP is configured (COP_SMTP_URL, COP_MAIL_FROM and COP_REMINDER_TO, plus optional
per-province COP_REMINDER_TO_<PROVINCE>), on the first day after the due date and then once a week
while the province is still outstanding, so a daily check does not flood anybody.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import smtplib
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, select_autoescape

from cop.paths import state_dir
from cop.period import add_months, due_date, format_period

AGENCY_TIME_ZONE = ZoneInfo("Asia/Karachi")
REMIND_EVERY_DAYS = 7
MAX_UNITS_LISTED = 50


@dataclass
class MissingUnit:
    unit_code: str
    unit_name: str
    district_code: str


@dataclass
class ProvinceDeadline:
    province: str
    province_name: str
    period: str
    due_date: str
    days_overdue: int
    expected_units: int
    reported_units: int
    accepted_version: int | None
    rejected_files: int
    missing_units: list[MissingUnit] = field(default_factory=list)
    source_note: str = ""      # a remote source: unreachable, or reachable with nothing published (hub.fetch)
    reporting_state: str | None = None   # review.month_states: on_time, late, rejected, missing, not_due
    review_state: str = "awaiting"       # awaiting, received, approved, returned
    is_locked: bool = False
    return_reason: str | None = None

    @property
    def status(self) -> str:
        if self.review_state == "returned":
            return "returned"
        if self.accepted_version is None:
            return "rejected" if self.rejected_files else "not reported"
        return "incomplete" if self.missing_units else "complete"

    @property
    def outstanding(self) -> bool:
        return self.status != "complete"

    def sentence(self) -> str:
        sentence = self._sentence()
        return f"{sentence}; {self.source_note}" if self.source_note else sentence

    def _sentence(self) -> str:
        head = f"{self.province} ({self.province_name}) {self.period}, due {self.due_date}"
        if self.status == "returned":
            return (f"{head}: version {self.accepted_version} was returned by the federal desk, to be corrected "
                    f"and sent again: {self.return_reason}")
        if self.status == "not reported":
            return f"{head}: no return received ({self.days_overdue} days overdue); {self.expected_units} units expected"
        if self.status == "rejected":
            return (f"{head}: {self.rejected_files} file(s) received, all rejected ({self.days_overdue} days overdue); "
                    f"{self.expected_units} units expected")
        if self.status == "incomplete":
            return (f"{head}: version {self.accepted_version} accepted, {len(self.missing_units)} of "
                    f"{self.expected_units} units not reported")
        return f"{head}: complete (version {self.accepted_version}, {self.reported_units} units)"


@dataclass
class ReminderReport:
    as_of: str
    provinces: list[ProvinceDeadline]
    folder: Path | None = None
    mailed: list[str] = field(default_factory=list)

    @property
    def outstanding(self) -> list[ProvinceDeadline]:
        return [p for p in self.provinces if p.outstanding]

    def markdown(self) -> str:
        lines = [f"# Reporting reminders as of {self.as_of}", ""]
        if not self.outstanding:
            lines += ["Every province has reported every unit for its last due month.", ""]
        for p in self.provinces:
            lines.append(f"- **{p.status}**: {p.sentence()}")
            for unit in p.missing_units[:MAX_UNITS_LISTED]:
                lines.append(f"  - {unit.unit_code} {unit.unit_name} ({unit.district_code})")
            if len(p.missing_units) > MAX_UNITS_LISTED:
                lines.append(f"  - ... and {len(p.missing_units) - MAX_UNITS_LISTED} more units")
        return "\n".join(lines) + "\n"


def period_due_by(due_day: int, today: dt.date) -> dt.date:
    """The latest month whose return was due (end of due day) before `today`."""
    month = add_months(today.replace(day=1), -1)
    while due_date(month, due_day) >= today:
        month = add_months(month, -1)
    return month


def month_state(conn, province: str, month: dt.date) -> tuple:
    """(current submission, its version, rejected files, reporting state, review state, locked, return
    reason) of the province-month now, from review.month_states."""
    return conn.execute(
        "select current_submission_id, current_version, rejected_files, reporting_state, review_state, is_locked, "
        "case when review_state = 'returned' then last_reason end "
        "from review.month_states(%s, %s, now()) where province_code = %s", (month, month, province)).fetchone()


def province_deadline(conn, province: str, today: dt.date) -> ProvinceDeadline:
    from cop.registry import load_registry
    from cop.spec import load_amendment

    registry = load_registry()
    due_day = load_amendment(province).due_day
    month = period_due_by(due_day, today)
    expected = registry.units_open(province, month)
    current, version, rejected, reporting_state, review_state, locked, reason = month_state(conn, province, month)
    reported: set[str] = set()
    if current:
        reported = {row[0] for row in conn.execute("select unit_code from raw.return_rows where submission_id = %s",
                                                   (current,))}
    missing = [MissingUnit(u.unit_code, u.unit_name, u.district_code) for u in expected if u.unit_code not in reported]
    due = due_date(month, due_day)
    return ProvinceDeadline(
        province=province, province_name=registry.province(province).province_name, period=format_period(month),
        due_date=due.isoformat(), days_overdue=(today - due).days, expected_units=len(expected),
        reported_units=len(reported & {u.unit_code for u in expected}), accepted_version=version,
        rejected_files=rejected, missing_units=missing if current else [], reporting_state=reporting_state,
        review_state=review_state, is_locked=locked, return_reason=reason)


def check_deadlines(today: dt.date | None = None, provinces: list[str] | None = None) -> ReminderReport:
    from cop import db
    from cop.security import TRANSFORM_ROLE
    from cop.registry import load_registry

    today = today or dt.datetime.now(AGENCY_TIME_ZONE).date()
    codes = provinces or load_registry().province_codes
    with db.connect_as(TRANSFORM_ROLE) as conn:
        statuses = [province_deadline(conn, code, today) for code in codes]
        _add_source_notes(conn, statuses)
    return ReminderReport(as_of=today.isoformat(), provinces=statuses)


def _add_source_notes(conn, statuses: list[ProvinceDeadline]) -> None:
    """For a province fetched from its own server: unreachable, or reachable with nothing published."""
    from hub.fetch import reminder_note
    from cop.sources import load_sources

    sources = load_sources()
    for deadline in statuses:
        if deadline.status == "not reported" and sources[deadline.province].remote:
            deadline.source_note = reminder_note(conn, deadline.province, deadline.period)


_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Reporting reminders {{ r.as_of }}</title>
<style>body{font-family:system-ui,sans-serif;margin:1.2rem} td,th{border:1px solid #ddd;padding:.3rem .5rem;
text-align:left;vertical-align:top} table{border-collapse:collapse} .complete{color:#22543d}
.rejected,.not-reported,.returned{color:#9b2c2c;font-weight:bold} .incomplete{color:#744210}</style></head><body>
<h1>Reporting reminders as of {{ r.as_of }}</h1>
<table><tr><th>province</th><th>month</th><th>due</th><th>status</th><th>units reported</th><th>missing units</th></tr>
{% for p in r.provinces %}<tr><td>{{ p.province }} - {{ p.province_name }}</td><td>{{ p.period }}</td>
<td>{{ p.due_date }}</td><td class="{{ p.status|replace(' ', '-') }}">{{ p.status }}{% if p.rejected_files %}
({{ p.rejected_files }} rejected file(s)){% endif %}{% if p.source_note %}
<br><small>{{ p.source_note }}</small>{% endif %}</td><td>{{ p.reported_units }} / {{ p.expected_units }}</td>
<td>{% for u in p.missing_units[:limit] %}{{ u.unit_code }} {{ u.unit_name }}<br>{% endfor %}
{% if p.missing_units|length > limit %}... and {{ p.missing_units|length - limit }} more{% endif %}</td></tr>
{% endfor %}</table></body></html>
"""


def write_reminder_report(report: ReminderReport, folder: Path | None = None) -> Path:
    folder = folder or state_dir("reminders") / report.as_of
    folder.mkdir(parents=True, exist_ok=True)
    data = {"as_of": report.as_of, "provinces": [dict(asdict(p), status=p.status) for p in report.provinces]}
    (folder / "reminders.json").write_text(json.dumps(data, ensure_ascii=False, indent=1), "utf-8")
    (folder / "reminders.md").write_text(report.markdown(), "utf-8")
    html = Environment(autoescape=select_autoescape(default_for_string=True)).from_string(_HTML)
    (folder / "reminders.html").write_text(html.render(r=report, limit=MAX_UNITS_LISTED), "utf-8")
    report.folder = folder
    return folder / "reminders.md"


# ---------------------------------------------------------------- mail


@dataclass(frozen=True)
class MailSettings:
    url: str
    sender: str
    federal_recipients: tuple[str, ...]

    def recipients_for(self, province: str) -> list[str]:
        extra = os.environ.get(f"COP_REMINDER_TO_{province}", "")
        return [*self.federal_recipients, *(a.strip() for a in extra.split(",") if a.strip())]


def mail_settings() -> MailSettings | None:
    """SMTP settings from the environment, or None when mail is not configured."""
    url, sender = os.environ.get("COP_SMTP_URL"), os.environ.get("COP_MAIL_FROM")
    recipients = tuple(a.strip() for a in os.environ.get("COP_REMINDER_TO", "").split(",") if a.strip())
    if not (url and sender and recipients):
        return None
    return MailSettings(url, sender, recipients)


def is_reminder_day(deadline: ProvinceDeadline) -> bool:
    return deadline.outstanding and deadline.days_overdue % REMIND_EVERY_DAYS == 1


def _smtp(url: str) -> smtplib.SMTP:
    parts = urlsplit(url)
    secure = parts.scheme == "smtps"
    server = (smtplib.SMTP_SSL if secure else smtplib.SMTP)(parts.hostname, parts.port or (465 if secure else 25),
                                                            timeout=30)
    if not secure and parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true", "yes"):
        server.starttls()
    if parts.username:
        server.login(unquote(parts.username), unquote(parts.password or ""))
    return server


def send_mail(settings: MailSettings, subject: str, body: str, to: list[str], files: tuple[Path, ...] = ()) -> None:
    """One message to `to`, with `files` attached (PDF or HTML), through the configured SMTP server."""
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, settings.sender, ", ".join(to)
    message.set_content(body)
    for path in files:
        kind = ("application", "pdf") if path.suffix == ".pdf" else ("text", "html")
        message.add_attachment(path.read_bytes(), maintype=kind[0], subtype=kind[1], filename=path.name)
    with _smtp(settings.url) as server:
        server.send_message(message)


def send_reminders(report: ReminderReport, force: bool = False) -> list[str]:
    """Mail each outstanding province whose reminder day it is (or all outstanding ones with force).
    Returns the provinces mailed; nothing happens when SMTP is not configured."""
    settings = mail_settings()
    if settings is None:
        return []
    due = [p for p in report.outstanding if force or is_reminder_day(p)]
    if not due:
        return []
    with _smtp(settings.url) as server:
        for deadline in due:
            message = EmailMessage()
            message["Subject"] = f"COP monthly return {deadline.period} for {deadline.province_name}: {deadline.status}"
            message["From"] = settings.sender
            message["To"] = ", ".join(settings.recipients_for(deadline.province))
            body = [deadline.sentence(), ""]
            body += [f"  {u.unit_code} {u.unit_name} ({u.district_code})" for u in deadline.missing_units]
            body += ["", "Please send the return (or the missing units) as soon as possible.",
                     "This is an automatic reminder from the national COP monitoring warehouse."]
            message.set_content("\n".join(body))
            server.send_message(message)
            report.mailed.append(deadline.province)
    return list(report.mailed)


def parse_as_of(text: str | None, fallback: dt.datetime | None) -> dt.date:
    """The day a check is for: an explicit YYYY-MM-DD, else the run's time in Pakistan."""
    if text:
        return dt.date.fromisoformat(str(text))
    moment = fallback or dt.datetime.now(dt.timezone.utc)
    return moment.astimezone(AGENCY_TIME_ZONE).date()

