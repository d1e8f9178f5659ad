"""Province drop folders: COP_HOME/inbox/<PROVINCE>/, as an SFTP landing would fill them.

Naming convention (what a province must call the file it drops):

    <PROVINCE>_<YYYY-MM>[_<anything>].<csv|xlsx>      e.g. SD_2025-03.csv, PB_2025-03_rev1.xlsx

The province code must be the folder's; the month is the return's period. Files whose name starts
with a dot or ends in .part/.tmp/.filepart are uploads still in progress and are left alone.

Every other file in the folder is new by definition: once decided, it is moved to
`processed/` (or to `refused/`, with a `<name>.reason.txt` beside it, when its name does not follow
the convention or the intake could not decide it). Moving rather than leaving files in place keeps the drop folder
an honest "waiting" list for the province and for operators, and makes a scan cost nothing when
nothing arrived. The exact bytes are kept anyway by the intake's landing zone (named by sha256),
and a file dropped twice is recognised by the intake as a duplicate, so a task that dies between
deciding a file and moving it is safe to retry: the second attempt records "duplicate".

The time a file was received is its modification time in the drop folder (when the upload
finished), so a return is on time or late by when the province sent it, not by when the DAG ran.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from cop.paths import state_dir
from cop.period import PeriodError, format_period, parse_period
from hub.run_review import (MAX_ERRORS_SHOWN, MAX_WARNINGS_SHOWN, FileOutcome, ProblemLine, ProvinceSummary,
                        home_relative, record_file, record_province_state, recorded_files)

FILE_NAME = re.compile(r"^(?P<province>[A-Za-z]{2})_(?P<period>\d{4}-\d{2})(?:_[^.]*)?\.(?P<ext>csv|xlsx)$",
                       re.IGNORECASE)
IN_PROGRESS_SUFFIXES = (".part", ".tmp", ".filepart", ".partial")
PROCESSED, REFUSED = "processed", "refused"
CHANNEL = "inbox"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboxFile:
    path: Path
    province: str
    period: str | None         # None when the name does not follow the convention
    problem: str | None        # why the name is refused

    @property
    def received_at(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.path.stat().st_mtime, tz=dt.timezone.utc)


def inbox_dir(province: str) -> Path:
    path = state_dir("inbox") / province
    path.mkdir(parents=True, exist_ok=True)
    return path


def ensure_inboxes(provinces: list[str]) -> None:
    for province in provinces:
        for sub in ("", PROCESSED, REFUSED):
            (inbox_dir(province) / sub).mkdir(exist_ok=True)


def read_file_name(name: str, province: str) -> tuple[str | None, str | None]:
    """(period, None) for a conforming name, else (None, the reason in plain words)."""
    match = FILE_NAME.match(name)
    example = f"{province}_2025-03.csv"
    if not match:
        return None, (f"the file name '{name}' does not follow <PROVINCE>_<YYYY-MM>[_note].csv|xlsx "
                      f"(for example {example}); rename it and drop it again")
    if match.group("province").upper() != province:
        return None, (f"the file name '{name}' names province {match.group('province').upper()} but was dropped "
                      f"in the {province} folder; drop it in its own province's folder")
    try:
        return format_period(parse_period(match.group("period"))), None
    except PeriodError as exc:
        return None, f"the file name '{name}' has no valid month: {exc}"


def pending_files(province: str) -> list[InboxFile]:
    """Files waiting in the province's drop folder, oldest upload first."""
    files = []
    for path in inbox_dir(province).iterdir():
        if not path.is_file() or path.name.startswith(".") or path.name.lower().endswith(IN_PROGRESS_SUFFIXES):
            continue
        period, problem = read_file_name(path.name, province)
        files.append(InboxFile(path, province, period, problem))
    return sorted(files, key=lambda f: (f.path.stat().st_mtime_ns, f.path.name))


def _move(path: Path, folder: str) -> Path:
    """Move a decided file out of the drop folder, never overwriting an earlier file of the same name."""
    target_dir = path.parent / folder
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    if target.exists():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        target = target_dir / f"{path.stem}.{digest}{path.suffix}"
    shutil.move(str(path), target)
    return target


def _problem_lines(problems, limit: int) -> list[ProblemLine]:
    return [ProblemLine(severity=p.severity, rule=p.rule, message=p.message, row=p.row, column=p.column,
                        value=p.value) for p in list(problems)[:limit]]


def _refuse(item: InboxFile, reason: str) -> FileOutcome:
    received_at = item.received_at.isoformat(timespec="seconds")
    kept = _move(item.path, REFUSED)
    kept.with_name(kept.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
    return FileOutcome(file_name=item.path.name, province=item.province, period=item.period, verdict="refused",
                       received_at=received_at, kept_at=home_relative(kept), note=reason)


def _due_on(province: str, period: str) -> str:
    from cop.period import due_date
    from cop.spec import load_amendment

    return due_date(parse_period(period), load_amendment(province).due_day).isoformat()


def _current_version(province: str, period: str) -> int | None:
    """The month's current accepted version (what a rejected file leaves in place)."""
    from cop import db
    from cop.security import LOADER_ROLE

    with db.connect_as(LOADER_ROLE) as conn:
        row = conn.execute("select max(version) from raw.submissions where province_code = %s and period = %s "
                           "and status = 'accepted'", (province, parse_period(period))).fetchone()
    return row[0]


def _submit(item: InboxFile) -> FileOutcome:
    from loaders.intake import SubmitError, submit_file

    received_at = item.received_at
    try:
        receipt = submit_file(item.path.read_bytes(), item.path.name, item.province, item.period,
                              submitted_by=f"{item.province}-inbox", channel=CHANNEL, received_at=received_at)
    except SubmitError as exc:  # the intake cannot take the file as named: a verdict, not an outage
        return _refuse(item, f"the intake refused the file: {exc}")
    kept = _move(item.path, PROCESSED)
    return receipt_outcome(receipt, item.path.name, kept_at=home_relative(kept))


def receipt_outcome(receipt, file_name: str, kept_at: str | None = None, note: str = "") -> FileOutcome:
    """The intake's receipt as a line of the run review (every door that submits files uses it)."""
    return FileOutcome(
        file_name=file_name, province=receipt.province, period=receipt.period, verdict=receipt.status,
        received_at=receipt.received_at.isoformat(timespec="seconds"), submission_id=receipt.submission_id,
        version=receipt.version, rows=receipt.rows, error_count=receipt.error_count,
        warning_count=receipt.warning_count, errors=_problem_lines(receipt.errors, MAX_ERRORS_SHOWN),
        warnings=_problem_lines(receipt.warnings, MAX_WARNINGS_SHOWN),
        report=home_relative(receipt.report_html), problem_file=home_relative(receipt.problems_csv),
        kept_at=kept_at, note=note, due_on=_due_on(receipt.province, receipt.period),
        current_version=receipt.version if receipt.status == "accepted" else _current_version(receipt.province,
                                                                                              receipt.period))


def _decide(item: InboxFile) -> FileOutcome:
    """The file's outcome. A file the intake cannot decide (a bug its bytes trigger) is set aside with its
    reason, so that it cannot fail the task on every retry while the province's later files wait; an
    outage of the database or the disk is not the file's doing and propagates."""
    if item.problem:
        return _refuse(item, item.problem)
    try:
        return _submit(item)
    except Exception as exc:
        if _is_outage(exc):
            raise
        log.exception("the intake could not decide %s", item.path)
        return _refuse(item, f"the intake could not decide this file ({type(exc).__name__}: "
                             f"{' '.join(str(exc).split())[:300]}); it was set aside so that the files after it "
                             f"could go on. The platform team has the details; drop the file again once they "
                             f"say the problem is fixed")


def _is_outage(exc: Exception) -> bool:
    """The database or the disk failing (the task must fail and be retried), not the file."""
    import psycopg

    from loaders.intake import MonthBusy

    # MonthBusy: another file of the month is being decided; the file waits in the inbox for the retry.
    if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError, OSError, MonthBusy)):
        return True
    return not _platform_is_up()


def _platform_is_up() -> bool:
    from cop import db
    from cop.security import LOADER_ROLE

    try:
        with db.connect_as(LOADER_ROLE, connect_timeout=10) as conn:
            conn.execute("select 1")
        probe = state_dir("inbox") / f".probe-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except Exception:
        return False
    return True


def process_inbox(province: str, dag_id: str, run_id: str, map_index: int | None = None,
                  try_number: int | None = None, last_try: bool = True) -> ProvinceSummary:
    """Land, validate and load every new file of one province, oldest first.

    A rejected file, a badly named one or one the intake cannot decide is a normal outcome, recorded in
    the run's journal. An outage (database down, disk full) propagates, so the Airflow task fails and
    retries; the files decided before the failure stay recorded, the rest are still waiting in the inbox.
    """
    from cop.registry import load_registry

    name = load_registry().province(province).province_name
    record_province_state(dag_id, run_id, province, "running", map_index, try_number=try_number)
    try:
        for item in pending_files(province):
            record_file(dag_id, run_id, _decide(item))
    except Exception as exc:
        record_province_state(dag_id, run_id, province, "failed", map_index, f"{type(exc).__name__}: {exc}",
                              will_retry=not last_try)
        raise
    record_province_state(dag_id, run_id, province, "done", map_index)
    return ProvinceSummary(province, name, recorded_files(dag_id, run_id, province), map_index=map_index)


def drop_file(source: Path, province: str, received_at: dt.datetime | None = None, name: str | None = None) -> Path:
    """Put a file in a province's drop folder as an upload would (tests, demos, operators' re-drops)."""
    target = inbox_dir(province) / (name or source.name)
    partial = target.with_name("." + target.name + ".part")
    shutil.copyfile(source, partial)
    if received_at is not None:
        stamp = received_at.timestamp()
        os.utime(partial, (stamp, stamp))
    partial.rename(target)
    return target


def drop_generated(samples: Path, periods: set[str] | None = None) -> list[Path]:
    """Drop generated sample returns (hub.generate) into the inboxes as the provinces would have sent
    them: in the order received, each with its receipt time as the upload time."""
    from hub.generate import read_manifest

    dropped = []
    for entry in read_manifest(samples):
        if periods is None or entry.period in periods:
            dropped.append(drop_file(Path(samples) / entry.file, entry.province,
                                     dt.datetime.fromisoformat(entry.received_at)))
    return dropped
