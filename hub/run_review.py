"""What each pipeline run did, in plain words, for the federal staff who review it.

Every Airflow run of the monthly cycle keeps a folder under COP_HOME/runs/<dag>/<run>/:
`provinces/<P>.jsonl` (one line per file handled for that province, appended as each file is
decided, so a retried task keeps what its earlier attempt did), `provinces/<P>.json` (the task
that handled the province and how it ended) and `summary.md` / `summary.json` / `summary.html`
(the run as a whole). The page opens with one line per province, problems first (rejected,
refused, failed, late, then accepted), each with its next step; below, every file with its blocking
errors apart from its warnings, the version that stays current, on time or late against the due
date, and the history of the task's attempts. Times are shown in Pakistan time (PKT). The Airflow
UI shows the page, built live from the journals while the run goes on, in the run's "Review" tab
(plugins/cop_review.py); the task logs print the same markdown.

A province's outcomes are a plain list of FileOutcome entries: another way of receiving files (a
fetch from an SFTP or HTTPS server) adds entries with its own verdict words to the same list.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from jinja2 import Environment, select_autoescape

from cop.paths import cop_home, state_dir

MAX_ERRORS_SHOWN = 10
MAX_WARNINGS_SHOWN = 5
PKT = dt.timezone(dt.timedelta(hours=5), "PKT")
# A province's status in a run, in the order the page lists them: problems first.
STATUS_ORDER = ("rejected", "refused", "failed", "late", "accepted", "running", "duplicate", "no file", "not run")
STATUS_WORDS = {"rejected": "REJECTED", "refused": "REFUSED", "failed": "FAILED", "late": "LATE",
                "accepted": "accepted", "running": "running", "duplicate": "nothing new", "no file": "no file",
                "not run": "not started"}
VERDICT_WORDS = {
    "accepted": "accepted and loaded",
    "rejected": "rejected, nothing loaded",
    "duplicate": "already received earlier (same bytes), ignored",
    "refused": "not processed (see the reason)",
}


def plural(count: int, word: str, words: str | None = None) -> str:
    """'1 file', '2 files', '1 blocking problem' (the last word is the one that takes the plural)."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


def in_pkt(stamp: str | None) -> str:
    """An ISO timestamp as staff read it: '9 May 2025 15:04 PKT'."""
    if not stamp:
        return ""
    moment = dt.datetime.fromisoformat(stamp)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    moment = moment.astimezone(PKT)
    return f"{moment.day} {moment:%b %Y %H:%M} PKT"


def _day(iso_date: str) -> str:
    day = dt.date.fromisoformat(iso_date)
    return f"{day.day} {day:%b %Y}"


def safe_name(text: str) -> str:
    """A run or DAG id as a folder name (run ids carry ':' and '+')."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def run_dir(dag_id: str, run_id: str) -> Path:
    path = state_dir("runs") / safe_name(dag_id) / safe_name(run_id)
    (path / "provinces").mkdir(parents=True, exist_ok=True)
    return path


def home_relative(path: str | Path | None) -> str | None:
    """A path under COP_HOME as a relative path (how summaries and links name files)."""
    if not path:
        return None
    path = Path(path).resolve()
    try:
        return path.relative_to(cop_home()).as_posix()
    except ValueError:
        return str(path)


@dataclass
class ProblemLine:
    severity: str
    rule: str
    message: str
    row: int | None = None
    column: str | None = None
    value: str | None = None

    def text(self) -> str:
        where = ", ".join(part for part in (f"row {self.row}" if self.row is not None else "",
                                            f"column '{self.column}'" if self.column else "",
                                            f"value '{self.value}'" if self.value not in (None, "") else "") if part)
        return f"[{self.rule}] {where + ': ' if where else ''}{self.message}"


@dataclass
class FileOutcome:
    """What happened to one file from a province's inbox."""
    file_name: str
    province: str
    period: str | None
    verdict: str                       # accepted | rejected | duplicate | refused
    received_at: str
    submission_id: int | None = None
    version: int | None = None
    rows: int | None = None
    error_count: int = 0
    warning_count: int = 0
    errors: list[ProblemLine] = field(default_factory=list)      # the first MAX_ERRORS_SHOWN
    warnings: list[ProblemLine] = field(default_factory=list)    # the first MAX_WARNINGS_SHOWN
    report: str | None = None          # validation report (HTML), relative to COP_HOME
    problem_file: str | None = None    # downloadable problem list, relative to COP_HOME
    kept_at: str | None = None         # where the inbox file was moved, relative to COP_HOME
    note: str = ""
    due_on: str | None = None          # the month's due date (end of that day, Pakistan time)
    current_version: int | None = None  # the month's current accepted version once this file was decided

    @property
    def days_late(self) -> int:
        """Days after the due date the file arrived (0: on time; judged on the Pakistan calendar)."""
        if not (self.due_on and self.received_at):
            return 0
        received = dt.datetime.fromisoformat(self.received_at)
        received = received if received.tzinfo else received.replace(tzinfo=dt.timezone.utc)
        return max(0, (received.astimezone(PKT).date() - dt.date.fromisoformat(self.due_on)).days)

    def timeliness(self) -> str:
        """'received 9 May 2025 15:04 PKT, due 10 May 2025: on time' (or 'N days late')."""
        text = f"received {in_pkt(self.received_at)}"
        if self.due_on:
            late = self.days_late
            text += f", due {_day(self.due_on)}: " + (f"{plural(late, 'day')} late" if late else "on time")
        return text

    def current_text(self) -> str:
        """After a rejection, which version of the month stays current."""
        if self.verdict != "rejected" or not self.period:
            return ""
        if self.current_version:
            return f"version {self.current_version} of {self.period} stays current"
        return f"nothing is loaded for {self.period} until a corrected file is accepted"

    def problem_counts(self) -> str:
        if self.verdict == "rejected":
            return f"{plural(self.error_count, 'blocking problem')}, {plural(self.warning_count, 'warning')}"
        return plural(self.warning_count, "warning") if self.verdict == "accepted" else ""

    def sentence(self) -> str:
        """The outcome in one line of plain words."""
        words = VERDICT_WORDS.get(self.verdict, self.verdict)
        what = f"{self.file_name}" + (f" ({self.period})" if self.period else "")
        parts = [f"{what}: {words}"]
        if self.version:
            parts.append(f"version {self.version}")
        parts += [text for text in (self.current_text(),) if text]
        if self.rows is not None:
            parts.append(plural(self.rows, "row"))
        parts += [text for text in (self.problem_counts(), self.timeliness(), self.note) if text]
        return "; ".join(parts)

    @classmethod
    def from_dict(cls, data: dict) -> "FileOutcome":
        data = dict(data)
        data["errors"] = [ProblemLine(**p) for p in data.get("errors", [])]
        data["warnings"] = [ProblemLine(**p) for p in data.get("warnings", [])]
        return cls(**data)


@dataclass
class ProvinceSummary:
    province: str
    province_name: str
    files: list[FileOutcome] = field(default_factory=list)
    state: str = "done"                 # done | failed | not run
    error: str | None = None            # the infrastructure error that failed the task
    map_index: int | None = None
    waiting: list[str] = field(default_factory=list)   # files still in the inbox when the summary was written
    fetch: dict | None = None          # the look at the province's remote source (hub.fetch.FetchReport)
    attempts: list[dict] = field(default_factory=list)  # every try of the task: try, started_at, ended_at, state, error
    will_retry: bool = False            # the failed attempt is not the last one Airflow makes

    def count(self, verdict: str) -> int:
        return sum(1 for f in self.files if f.verdict == verdict)

    def final_outcomes(self) -> list[FileOutcome]:
        """Per month, the last file decided (a rejection fixed later in the run is no longer a problem)."""
        last: dict[str, FileOutcome] = {}
        for outcome in self.files:
            if outcome.verdict in ("accepted", "rejected") and outcome.period:
                last[outcome.period] = outcome
        return list(last.values())

    def fixed_later(self, outcome: FileOutcome) -> bool:
        """A rejected file whose month a later file of this run got accepted."""
        if outcome.verdict != "rejected" or outcome not in self.files:
            return False
        later = self.files[self.files.index(outcome) + 1:]
        return any(f.verdict == "accepted" and f.period == outcome.period for f in later)

    @property
    def status(self) -> str:
        """One word for the province in this run (see STATUS_ORDER); a failed task comes first."""
        finals = self.final_outcomes()
        if self.state == "failed":
            return "failed"
        if any(f.verdict == "rejected" for f in finals):
            return "rejected"
        if self.count("refused"):
            return "refused"
        if any(f.days_late for f in finals):
            return "late"
        if finals:
            return "accepted"
        if self.state in ("running", "not run"):
            return self.state
        return "duplicate" if self.files else "no file"

    def next_step(self) -> str:
        """What the reviewer does about it, in one sentence."""
        status, finals = self.status, self.final_outcomes()
        if status == "failed":
            retry = ("Airflow retries it by itself; nothing to do unless the last attempt fails too."
                     if self.will_retry else
                     "Fix the cause, then clear the task in Airflow: decided files are kept, the others are "
                     "still waiting in the inbox.")
            return f"The task failed ({self.error or 'see its log'}). {retry}"
        if status == "rejected":
            bad = [f for f in finals if f.verdict == "rejected"]
            problems = sum(f.error_count for f in bad)
            return (f"Ask {self.province_name} to fix the {plural(problems, 'blocking problem')} of "
                    f"{', '.join(f.file_name for f in bad)} and send it again; {bad[0].current_text()}.")
        if status == "refused":
            return next(f.note for f in self.files if f.verdict == "refused")
        if status == "late":
            late = max(f.days_late for f in finals)
            return f"Loaded, {plural(late, 'day')} after the due date: no action on the file; lateness counts in the reporting rates."
        warnings = sum(f.warning_count for f in finals)
        return {"accepted": "Nothing to do" + (f" ({plural(warnings, 'warning')} to glance at)." if warnings else "."),
                "running": f"In progress (attempt {len(self.attempts) or 1}).",
                "not run": "The task has not run (yet): see the run's grid.",
                "duplicate": "Nothing new: the same bytes were received before.",
                "no file": "Nothing received in this run."}[status]

    def what_happened(self) -> str:
        """The province's files in one line: month, version, verdict, counts, timeliness."""
        parts = []
        for f in self.final_outcomes():
            text = f"{f.period} " + (f"version {f.version} " if f.version else "") + f.verdict
            detail = [t for t in (f.problem_counts(), f.current_text()) if t]
            parts.append(text + (f" ({'; '.join(detail)})" if detail else ""))
        earlier = sum(1 for f in self.files if f.verdict == "rejected") - sum(
            1 for f in self.final_outcomes() if f.verdict == "rejected")
        if earlier:
            parts.append(f"after {plural(earlier, 'rejected file')} earlier in the run")
        for verdict in ("refused", "duplicate"):
            if self.count(verdict):
                parts.append(f"{plural(self.count(verdict), 'file')} {verdict}")
        if self.state == "failed" and self.attempts:
            parts.append(f"attempt {len(self.attempts)} failed")
        if self.waiting:
            parts.append(f"{plural(len(self.waiting), 'file')} still waiting in the inbox")
        return "; ".join(parts) or "-"

    def timeliness(self) -> str:
        shown = self.final_outcomes() + [f for f in self.files if f.verdict == "refused"]
        return " | ".join(f.timeliness() for f in shown)

    @property
    def headline(self) -> str:
        if self.state == "failed":
            return f"{self.province}: FAILED ({self.error or 'see the task log'})"
        if self.state == "not run":
            return f"{self.province}: task did not run (see the task log)"
        if not self.files:
            return f"{self.province}: no new file"
        counts = [f"{self.count(v)} {v}" for v in ("accepted", "rejected", "duplicate", "refused") if self.count(v)]
        late = sum(1 for f in self.final_outcomes() if f.days_late)
        return f"{self.province}: " + ", ".join(counts) + (f" ({late} late)" if late else "")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ProvinceSummary":
        data = dict(data)
        data["files"] = [FileOutcome.from_dict(f) for f in data.get("files", [])]
        return cls(**data)


@dataclass
class RunSummary:
    dag_id: str
    run_id: str
    provinces: list[ProvinceSummary]
    written_at: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))

    def count(self, verdict: str) -> int:
        return sum(p.count(verdict) for p in self.provinces)

    @property
    def failed_provinces(self) -> list[str]:
        return [p.province for p in self.provinces if p.state != "done"]

    @property
    def raw_changed(self) -> bool:
        return self.count("accepted") > 0

    @property
    def headline(self) -> str:
        files = sum(len(p.files) for p in self.provinces)
        if not files and not self.failed_provinces:
            return "no new file in any inbox"
        counts = ", ".join(f"{self.count(v)} {v}" for v in ("accepted", "rejected", "duplicate", "refused")
                           if self.count(v))
        failed = f"; FAILED: {', '.join(self.failed_provinces)}" if self.failed_provinces else ""
        return f"{plural(files, 'file')}: {counts or 'none decided'}{failed}"

    def by_urgency(self) -> list[ProvinceSummary]:
        """The provinces, problems first (STATUS_ORDER), registry order within a status."""
        return sorted(self.provinces, key=lambda p: STATUS_ORDER.index(p.status) if p.status in STATUS_ORDER
                      else len(STATUS_ORDER))

    def status_line(self) -> str:
        """'7 provinces: 1 rejected, 1 refused, 1 failed, 1 late, 3 accepted'."""
        statuses = [p.status for p in self.provinces]
        counts = ", ".join(f"{statuses.count(s)} {STATUS_WORDS[s].lower()}" for s in STATUS_ORDER if s in statuses)
        return f"{plural(len(self.provinces), 'province')}: {counts}"

    def to_dict(self) -> dict:
        return {"dag_id": self.dag_id, "run_id": self.run_id, "written_at": self.written_at,
                "headline": self.headline, "provinces": [p.to_dict() for p in self.provinces]}

    @classmethod
    def from_dict(cls, data: dict) -> "RunSummary":
        return cls(dag_id=data["dag_id"], run_id=data["run_id"], written_at=data["written_at"],
                   provinces=[ProvinceSummary.from_dict(p) for p in data["provinces"]])

    def markdown(self) -> str:
        lines = [f"# {self.dag_id} - {self.run_id}", "", f"**{self.status_line()}** ({self.headline})", ""]
        for province in self.by_urgency():
            lines.append(f"- {STATUS_WORDS[province.status]} {province.province} ({province.province_name}): "
                         f"{province.what_happened()}. Next: {province.next_step()}")
        lines.append("")
        for province in self.by_urgency():
            lines += province_markdown(province)
        return "\n".join(lines)


# ---------------------------------------------------------------- the province journal


def record_file(dag_id: str, run_id: str, outcome: FileOutcome) -> None:
    """Append one decided file to its province's journal (survives a retry of the task)."""
    path = run_dir(dag_id, run_id) / "provinces" / f"{outcome.province}.jsonl"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(asdict(outcome), ensure_ascii=False) + "\n")


def recorded_files(dag_id: str, run_id: str, province: str) -> list[FileOutcome]:
    path = run_dir(dag_id, run_id) / "provinces" / f"{province}.jsonl"
    if not path.exists():
        return []
    return [FileOutcome.from_dict(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def record_province_state(dag_id: str, run_id: str, province: str, state: str, map_index: int | None = None,
                          error: str | None = None, try_number: int | None = None,
                          will_retry: bool = False) -> None:
    """The province task's state; 'running' starts a new attempt in its history, any other state ends it
    (so a retry or a rerun of the run never wipes what an earlier attempt did or why it failed)."""
    path = run_dir(dag_id, run_id) / "provinces" / f"{province}.json"
    meta = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    attempts = meta.get("attempts", [])
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    if state == "running" or not attempts:
        attempts.append({"try": try_number or len(attempts) + 1, "started_at": now, "ended_at": None,
                         "state": state, "error": None})
    if state != "running":
        attempts[-1].update(ended_at=now, state=state, error=error)
    path.write_text(json.dumps({"state": state, "map_index": map_index, "error": error, "attempts": attempts,
                                "will_retry": will_retry}), encoding="utf-8")


def province_summary(dag_id: str, run_id: str, province: str, province_name: str) -> ProvinceSummary:
    """The province as recorded so far in this run (state 'not run' when its task never started)."""
    meta_path = run_dir(dag_id, run_id) / "provinces" / f"{province}.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {"state": "not run"}
    return ProvinceSummary(province, province_name, recorded_files(dag_id, run_id, province), state=meta["state"],
                           error=meta.get("error"), map_index=meta.get("map_index"),
                           attempts=meta.get("attempts", []), will_retry=meta.get("will_retry", False))


def live_run_summary(dag_id: str, run_id: str) -> RunSummary | None:
    """The run as its journals say right now (during the run, retries and failures included); the
    provinces of the written summary, or else every province whose task has started."""
    from cop.registry import load_registry

    registry = load_registry()
    written = read_run_summary(dag_id, run_id)
    folder = run_dir(dag_id, run_id) / "provinces"
    codes = ([p.province for p in written.provinces] if written else
             [code for code in registry.province_codes if (folder / f"{code}.json").exists()])
    if not codes:
        return None
    waiting = {p.province: p.waiting for p in written.provinces} if written else {}
    provinces = [province_summary(dag_id, run_id, code, registry.province(code).province_name) for code in codes]
    for province in provinces:
        province.waiting = waiting.get(province.province, [])
    return RunSummary(dag_id, run_id, provinces)


# ---------------------------------------------------------------- the run summary


def write_run_summary(summary: RunSummary) -> Path:
    """summary.json, summary.md and summary.html in the run's folder; returns the markdown path."""
    folder = run_dir(summary.dag_id, summary.run_id)
    (folder / "summary.json").write_text(json.dumps(summary.to_dict(), ensure_ascii=False, indent=1), "utf-8")
    (folder / "summary.md").write_text(summary.markdown(), "utf-8")
    (folder / "summary.html").write_text(
        render_html(summary, link=lambda rel: os.path.relpath(cop_home() / rel, folder)), "utf-8")
    return folder / "summary.md"


def read_run_summary(dag_id: str, run_id: str) -> RunSummary | None:
    path = run_dir(dag_id, run_id) / "summary.json"
    return RunSummary.from_dict(json.loads(path.read_text("utf-8"))) if path.exists() else None


def _more(shown: int, total: int, word: str) -> str:
    return f"... and {plural(total - shown, 'more ' + word)}" if total > shown else ""


def province_markdown(province: ProvinceSummary) -> list[str]:
    lines = [f"## {province.province} - {province.province_name}", "",
             f"{STATUS_WORDS[province.status]}: {province.what_happened()}", f"Next: {province.next_step()}", ""]
    if province.fetch:
        lines += [f"Source {province.fetch['source']}: **{province.fetch['state']}**: {province.fetch['message']}", ""]
    for outcome in province.files:
        lines.append(f"- {outcome.sentence()}")
        if outcome.errors:
            lines.append(f"  - blocking errors ({outcome.error_count}):")
            lines += [f"    - {problem.text()}" for problem in outcome.errors]
            lines += [f"    - {more}" for more in [_more(len(outcome.errors), outcome.error_count,
                                                         'blocking problem')] if more]
        if outcome.warnings:
            lines.append(f"  - warnings ({outcome.warning_count}), loaded anyway:")
            lines += [f"    - {problem.text()}" for problem in outcome.warnings]
            lines += [f"    - {more}" for more in [_more(len(outcome.warnings), outcome.warning_count, 'warning')]
                      if more]
        if outcome.report:
            lines.append(f"  - validation report: `{outcome.report}`")
        if outcome.problem_file:
            lines.append(f"  - problem list: `{outcome.problem_file}`")
    if province.waiting:
        lines.append(f"- still waiting in the inbox: {', '.join(province.waiting)}")
    for attempt in province.attempts if len(province.attempts) > 1 or province.state == "failed" else []:
        lines.append(f"- attempt {attempt['try']}: {attempt['state']} {in_pkt(attempt['started_at'])}"
                     + (f" - {attempt['error']}" if attempt.get("error") else ""))
    lines.append("")
    return lines


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
 body { font-family: system-ui, sans-serif; margin: 1rem 1.2rem; color: #1a202c; font-size: .9rem; }
 h1 { font-size: 1.15rem; margin: 0 0 .3rem; } h2 { font-size: 1rem; margin: 1.4rem 0 .3rem; border-bottom: 1px solid #ddd; }
 table { border-collapse: collapse; width: 100%; margin: .4rem 0; }
 th, td { border: 1px solid #ddd; padding: .3rem .45rem; text-align: left; vertical-align: top; }
 th { background: #f4f6f8; } .overview td:first-child { white-space: nowrap; }
 .badge { display: inline-block; padding: .05rem .4rem; border-radius: .25rem; font-weight: 600; font-size: .8rem;
          white-space: nowrap; }
 .s-rejected .badge, .s-failed .badge { background: #c53030; color: #fff; }
 .s-refused .badge { background: #c05621; color: #fff; } .s-late .badge { background: #d69e2e; color: #1a202c; }
 .s-accepted .badge { background: #c6f6d5; color: #22543d; } .s-running .badge { background: #bee3f8; color: #2a4365; }
 .badge { background: #e2e8f0; color: #2d3748; }
 .blocking { border-left: 4px solid #c53030; background: #fff5f5; padding: .3rem .6rem; margin: .3rem 0; }
 .warnings { border-left: 4px solid #a0aec0; background: #f7fafc; padding: .3rem .6rem; margin: .3rem 0; color: #4a5568; }
 .blocking ul, .warnings ul { margin: .2rem 0 .2rem 1.1rem; padding: 0; } small, .muted { color: #555; }
 .live { background: #ebf8ff; border: 1px solid #90cdf4; padding: .3rem .6rem; }
</style></head><body>
<h1>{{ title }}</h1>
<p><strong>{{ status_line }}</strong> <span class="muted">({{ headline }})</span><br>
<small>{% if live %}live view of the run's journals, {% endif %}{{ written_at }}. Times in Pakistan time (PKT).</small></p>
<table class="overview"><tr><th>Province</th><th>Status</th><th>What happened</th><th>Received / due date</th><th>Next step</th></tr>
{% for p in provinces %}
<tr class="s-{{ p.status|replace(' ', '-') }}"><td><a href="#{{ p.province }}">{{ p.province }}</a> {{ p.province_name }}</td>
<td><span class="badge">{{ status_words[p.status] }}</span></td><td>{{ p.what_happened() }}</td>
<td>{{ p.timeliness() }}</td><td>{{ p.next_step() }}</td></tr>
{% endfor %}</table>
{% for p in provinces %}
<h2 id="{{ p.province }}" class="s-{{ p.status|replace(' ', '-') }}">{{ p.province }} - {{ p.province_name }}
 <span class="badge">{{ status_words[p.status] }}</span></h2>
<p>{{ p.next_step() }}</p>
{% if p.fetch %}<p class="{{ 'blocking' if p.fetch.state == 'failed' else 'muted' }}">Source {{ p.fetch.source }}:
<strong>{{ p.fetch.state }}</strong>: {{ p.fetch.message }}</p>{% endif %}
{% for f in p.files %}
<p><strong>{{ f.file_name }}</strong>{% if f.period %} ({{ f.period }}){% endif %}:
 {{ verdict_words.get(f.verdict, f.verdict) }}{% if f.version %}, version {{ f.version }}{% endif %}{% if p.fixed_later(f) %}; fixed by a later file of this run{% elif f.current_text() %}; <strong>{{ f.current_text() }}</strong>{% endif %}{% if f.rows is not none %}; {{ plural(f.rows, 'row') }}{% endif %}.
 <small>{{ f.timeliness() }}</small>{% if f.note %}<br>{{ f.note }}{% endif %}
 {% if f.report %}<br><a href="{{ link(f.report) }}">validation report</a>{% endif %}{% if f.problem_file %} | <a href="{{ link(f.problem_file) }}">problem list</a>{% endif %}</p>
{% if f.errors %}<div class="blocking"><strong>{{ plural(f.error_count, 'blocking error') }}</strong>: the file cannot be loaded until these are fixed
<ul>{% for e in f.errors %}<li>{{ e.text() }}</li>{% endfor %}{% if more(f.errors|length, f.error_count, 'blocking problem') %}<li>{{ more(f.errors|length, f.error_count, 'blocking problem') }} in the problem list</li>{% endif %}</ul></div>{% endif %}
{% if f.warnings %}<div class="warnings"><strong>{{ plural(f.warning_count, 'warning') }}</strong> (do not stop the file; worth a look)
<ul>{% for w in f.warnings %}<li>{{ w.text() }}</li>{% endfor %}{% if more(f.warnings|length, f.warning_count, 'warning') %}<li>{{ more(f.warnings|length, f.warning_count, 'warning') }}</li>{% endif %}</ul></div>{% endif %}
{% endfor %}
{% if p.waiting %}<p>Still waiting in the inbox: {{ p.waiting|join(', ') }}</p>{% endif %}
{% if p.attempts|length > 1 or p.state == 'failed' %}
<table><tr><th>attempt</th><th>started</th><th>ended</th><th>outcome</th></tr>
{% for a in p.attempts %}<tr><td>{{ a['try'] }}</td><td>{{ in_pkt(a['started_at']) }}</td><td>{{ in_pkt(a['ended_at']) }}</td>
<td>{{ a['state'] }}{% if a['error'] %}: {{ a['error'] }}{% endif %}</td></tr>{% endfor %}</table>
{% endif %}
{% endfor %}
</body></html>
"""

_environment = Environment(autoescape=select_autoescape(default=True, default_for_string=True))


def render_html(summary: RunSummary, link: Callable[[str], str], provinces: list[ProvinceSummary] | None = None,
                title: str | None = None, live: bool = False) -> str:
    """The run (or some of its provinces) as a page; `link` turns a COP_HOME-relative path into a URL."""
    return _environment.from_string(_TEMPLATE).render(
        title=title or f"{summary.dag_id} - {summary.run_id}", headline=summary.headline,
        status_line=summary.status_line(), live=live, written_at=in_pkt(summary.written_at),
        provinces=provinces if provinces is not None else summary.by_urgency(), link=link,
        verdict_words=VERDICT_WORDS, status_words=STATUS_WORDS, plural=plural, more=_more, in_pkt=in_pkt)


# ---------------------------------------------------------------- runs made of steps (the warehouse build)


@dataclass
class StepOutcome:
    """One step of a run that is not per province (dbt build, rankings, docs): what it did, or why not."""
    step: str
    state: str                         # ok | failed | skipped
    summary: str
    details: list[str] = field(default_factory=list)
    at: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))


def record_step(dag_id: str, run_id: str, outcome: StepOutcome) -> None:
    """Append the step to the run's journal (a retried or rerun step adds a line; none is overwritten)."""
    with (run_dir(dag_id, run_id) / "steps.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(asdict(outcome), ensure_ascii=False) + "\n")


def recorded_steps(dag_id: str, run_id: str) -> list[StepOutcome]:
    path = run_dir(dag_id, run_id) / "steps.jsonl"
    if not path.exists():
        return []
    return [StepOutcome(**json.loads(line)) for line in path.read_text("utf-8").splitlines() if line.strip()]


BUILT_TYPES = ("model", "snapshot", "seed")
TEST_TYPES = ("test", "unit_test")


def build_step(result) -> StepOutcome:
    """A cop.build.BuildResult in plain words: what dbt built, tested and skipped, and why."""
    nodes = result.nodes

    def named(types, statuses) -> list[dict]:
        return [n for n in nodes if n["type"] in types and n["status"] in statuses]

    built = named(BUILT_TYPES, ("success",))
    passed, warned = named(TEST_TYPES, ("pass",)), named(TEST_TYPES, ("warn",))
    failed = [n for n in nodes if n["status"] in ("error", "fail", "runtime error")]
    skipped = [n for n in nodes if n["status"] == "skipped"]
    kinds = ", ".join(plural(sum(1 for n in built if n["type"] == t), t) for t in BUILT_TYPES
                      if any(n["type"] == t for n in built))
    summary = (f"{'ok' if result.success else 'FAILED'} in {result.seconds:.0f} s: built {kinds or 'nothing'}; "
               f"{plural(len(passed), 'test')} passed, {len(warned)} warned, {len(failed)} failed; "
               f"{plural(len(skipped), 'node')} skipped")
    details = [f"failed: {n['name']}: {n['message']}" for n in failed]
    details += [f"skipped: {n['name']} ({n['message'] or 'a node it depends on failed'})" for n in skipped]
    details += [f"test warned: {n['name']}: {n['message']}" for n in warned]
    details += [f"built: {', '.join(n['name'] for n in built)}"] if built else []
    details += [f"dbt warning: {w}" for w in result.warnings[:5]]
    if result.error:
        details.insert(0, result.error)
    return StepOutcome("dbt build", "ok" if result.success else "failed", summary, details)


_STEPS_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
 body { font-family: system-ui, sans-serif; margin: 1rem 1.2rem; color: #1a202c; font-size: .9rem; }
 h1 { font-size: 1.15rem; } table { border-collapse: collapse; width: 100%; }
 th, td { border: 1px solid #ddd; padding: .3rem .45rem; text-align: left; vertical-align: top; }
 th { background: #f4f6f8; } .failed { color: #9b2c2c; font-weight: 600; } .skipped { color: #744210; }
 ul { margin: .2rem 0 .2rem 1.1rem; padding: 0; } small { color: #555; }
</style></head><body>
<h1>{{ title }}</h1><p><small>Times in Pakistan time (PKT).</small></p>
<table><tr><th>step</th><th>outcome</th><th>what it did, or why not</th><th>when</th></tr>
{% for s in steps %}<tr><td>{{ s.step }}</td><td class="{{ s.state }}">{{ s.state }}</td>
<td>{{ s.summary }}{% if s.details %}<ul>{% for d in s.details %}<li>{{ d }}</li>{% endfor %}</ul>{% endif %}</td>
<td>{{ in_pkt(s.at) }}</td></tr>{% endfor %}</table>
</body></html>
"""


def render_steps_html(dag_id: str, run_id: str, steps: list[StepOutcome]) -> str:
    return _environment.from_string(_STEPS_TEMPLATE).render(title=f"{dag_id} - {run_id}", steps=steps,
                                                            in_pkt=in_pkt)
