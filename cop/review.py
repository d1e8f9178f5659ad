"""What each pipeline run did, in plain words, for the federal staff who review it.

Every Airflow run of the monthly cycle keeps a folder under COP_HOME/runs/<dag>/<run>/:
`provinces/<P>.jsonl` (one line per file handled for that province, appended as each file is
decided, so a retried task keeps what its earlier attempt did), `provinces/<P>.json` (the task
that handled the province and how it ended) and `summary.md` / `summary.json` / `summary.html`
(the run as a whole: every province, every file, its verdict, rows, warnings, problems and a
link to its validation report). The Airflow UI shows these pages in a "Review" tab on each run
and on each province's task (plugins/cop_review.py); the task logs print the same markdown.
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
VERDICT_WORDS = {
    "accepted": "accepted and loaded",
    "rejected": "rejected, nothing loaded",
    "duplicate": "already received earlier (same bytes), ignored",
    "refused": "not processed (see the reason)",
}


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

    def sentence(self) -> str:
        """The outcome in one line of plain words."""
        words = VERDICT_WORDS.get(self.verdict, self.verdict)
        what = f"{self.file_name}" + (f" ({self.period})" if self.period else "")
        parts = [f"{what}: {words}"]
        if self.version:
            parts.append(f"version {self.version}")
        if self.rows is not None:
            parts.append(f"{self.rows} rows")
        if self.verdict in ("accepted", "rejected"):
            parts.append(f"{self.error_count} blocking problems, {self.warning_count} warnings")
        if self.note:
            parts.append(self.note)
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
    fetch: dict | None = None          # the look at the province's remote source (cop.fetch.FetchReport)

    def count(self, verdict: str) -> int:
        return sum(1 for f in self.files if f.verdict == verdict)

    @property
    def headline(self) -> str:
        if self.state == "failed":
            return f"{self.province}: FAILED ({self.error or 'see the task log'})"
        if self.state == "not run":
            return f"{self.province}: task did not run (see the task log)"
        if not self.files:
            return f"{self.province}: no new file"
        counts = [f"{self.count(v)} {v}" for v in ("accepted", "rejected", "duplicate", "refused") if self.count(v)]
        return f"{self.province}: " + ", ".join(counts)

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
        return f"{files} files: {counts or 'none decided'}{failed}"

    def to_dict(self) -> dict:
        return {"dag_id": self.dag_id, "run_id": self.run_id, "written_at": self.written_at,
                "headline": self.headline, "provinces": [p.to_dict() for p in self.provinces]}

    @classmethod
    def from_dict(cls, data: dict) -> "RunSummary":
        return cls(dag_id=data["dag_id"], run_id=data["run_id"], written_at=data["written_at"],
                   provinces=[ProvinceSummary.from_dict(p) for p in data["provinces"]])

    def markdown(self) -> str:
        lines = [f"# {self.dag_id} - {self.run_id}", "", f"**{self.headline}**", ""]
        for province in self.provinces:
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
                          error: str | None = None) -> None:
    path = run_dir(dag_id, run_id) / "provinces" / f"{province}.json"
    path.write_text(json.dumps({"state": state, "map_index": map_index, "error": error}), encoding="utf-8")


def province_summary(dag_id: str, run_id: str, province: str, province_name: str) -> ProvinceSummary:
    """The province as recorded so far in this run (state 'not run' when its task never started)."""
    meta_path = run_dir(dag_id, run_id) / "provinces" / f"{province}.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {"state": "not run"}
    return ProvinceSummary(province, province_name, recorded_files(dag_id, run_id, province), state=meta["state"],
                           error=meta.get("error"), map_index=meta.get("map_index"))


def province_for_map_index(dag_id: str, run_id: str, map_index: int) -> str | None:
    for meta_path in sorted((run_dir(dag_id, run_id) / "provinces").glob("*.json")):
        if json.loads(meta_path.read_text(encoding="utf-8")).get("map_index") == map_index:
            return meta_path.stem
    return None


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


def province_markdown(province: ProvinceSummary) -> list[str]:
    lines = [f"## {province.province} - {province.province_name}", "", f"{province.headline}", ""]
    if province.fetch:
        lines += [f"Source {province.fetch['source']}: **{province.fetch['state']}**: {province.fetch['message']}", ""]
    for outcome in province.files:
        lines.append(f"- {outcome.sentence()}")
        for problem in outcome.errors:
            lines.append(f"  - error {problem.text()}")
        if outcome.error_count > len(outcome.errors):
            lines.append(f"  - ... and {outcome.error_count - len(outcome.errors)} more blocking problems")
        for problem in outcome.warnings:
            lines.append(f"  - warning {problem.text()}")
        if outcome.warning_count > len(outcome.warnings):
            lines.append(f"  - ... and {outcome.warning_count - len(outcome.warnings)} more warnings")
        if outcome.report:
            lines.append(f"  - validation report: `{outcome.report}`")
        if outcome.problem_file:
            lines.append(f"  - problem list: `{outcome.problem_file}`")
    if province.waiting:
        lines.append(f"- still waiting in the inbox: {', '.join(province.waiting)}")
    lines.append("")
    return lines


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
 body { font-family: system-ui, sans-serif; margin: 1.2rem; color: #1a202c; }
 h1 { font-size: 1.3rem; } h2 { font-size: 1.1rem; margin-top: 1.4rem; border-bottom: 1px solid #ddd; }
 table { border-collapse: collapse; width: 100%; margin: .4rem 0; }
 th, td { border: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; font-size: .9rem; }
 .accepted { color: #22543d; } .rejected, .failed { color: #9b2c2c; font-weight: bold; }
 .duplicate, .refused { color: #744210; } ul { margin: .2rem 0 .2rem 1rem; padding: 0; } small { color: #555; }
</style></head><body>
<h1>{{ title }}</h1>
<p><strong>{{ headline }}</strong><br><small>written {{ written_at }}</small></p>
{% for p in provinces %}
<h2>{{ p.province }} - {{ p.province_name }}</h2>
<p class="{{ 'failed' if p.state != 'done' else '' }}">{{ p.headline }}</p>
{% if p.fetch %}<p class="{{ 'failed' if p.fetch.state == 'failed' else '' }}">Source {{ p.fetch.source }}:
<strong>{{ p.fetch.state }}</strong>: {{ p.fetch.message }}</p>{% endif %}
{% if p.files %}
<table><tr><th>file</th><th>month</th><th>verdict</th><th>rows</th><th>blocking problems</th><th>warnings</th>
<th>details</th></tr>
{% for f in p.files %}
<tr><td>{{ f.file_name }}<br><small>received {{ f.received_at }}</small></td><td>{{ f.period or '' }}</td>
<td class="{{ f.verdict }}">{{ verdict_words.get(f.verdict, f.verdict) }}{% if f.version %} (version {{ f.version }}){% endif %}</td>
<td>{{ f.rows if f.rows is not none else '' }}</td><td>{{ f.error_count }}</td><td>{{ f.warning_count }}</td>
<td>{% if f.note %}{{ f.note }}{% endif %}
{% if f.errors %}<ul>{% for e in f.errors %}<li>{{ e.text() }}</li>{% endfor %}
{% if f.error_count > f.errors|length %}<li>... and {{ f.error_count - f.errors|length }} more</li>{% endif %}</ul>{% endif %}
{% if f.warnings %}<ul>{% for w in f.warnings %}<li>warning {{ w.text() }}</li>{% endfor %}
{% if f.warning_count > f.warnings|length %}<li>... and {{ f.warning_count - f.warnings|length }} more warnings</li>{% endif %}</ul>{% endif %}
{% if f.report %}<a href="{{ link(f.report) }}">validation report</a>{% endif %}
{% if f.problem_file %} | <a href="{{ link(f.problem_file) }}">problem list</a>{% endif %}
</td></tr>
{% endfor %}</table>
{% endif %}
{% if p.waiting %}<p>Still waiting in the inbox: {{ p.waiting|join(', ') }}</p>{% endif %}
{% endfor %}
</body></html>
"""

_environment = Environment(autoescape=select_autoescape(default=True, default_for_string=True))


def render_html(summary: RunSummary, link: Callable[[str], str], provinces: list[ProvinceSummary] | None = None,
                title: str | None = None) -> str:
    """The run (or some of its provinces) as a page; `link` turns a COP_HOME-relative path into a URL."""
    return _environment.from_string(_TEMPLATE).render(
        title=title or f"{summary.dag_id} - {summary.run_id}", headline=summary.headline,
        written_at=summary.written_at, provinces=provinces if provinces is not None else summary.provinces,
        link=link, verdict_words=VERDICT_WORDS)
