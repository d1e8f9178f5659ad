"""The end-to-end demo: sample returns -> intake -> warehouse -> rankings and report.

Every stage calls the same library functions as the CLI, the portal and the
DAGs. The demo ends by printing where everything is.

The sample data run up to the last complete month, as a live system's would: files whose planned
upload time is still ahead are not sent yet, and the latest month already due shows a realistic
present (most provinces on time, one late, one missing, one rejected: see PRESENT). The annual report
covers the last full calendar year.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cop import db
from cop.build import build, generate_docs
from cop.paths import state_dir
from cop.period import add_months, due_date, format_period, last_completed_month, months_between, parse_period
from cop.spec import load_form
from hub.generate import ManifestEntry, generate_returns, read_manifest, submit_generated
from publishing.annual import write_annual_report
from publishing.bulletin import write_bulletin
from publishing.rankings import RankingError, refresh_rankings

DEMO_REVIEWER = "demo.reviewer"   # the federal account that picks the demo report's stories from the field

console = Console()


@dataclass
class DemoOutputs:
    database_url: str = ""
    samples: Path | None = None
    lines: list[tuple[str, str]] = field(default_factory=list)

    def add(self, label: str, where: str | Path) -> None:
        self.lines.append((label, str(where)))


def _stage(title: str) -> None:
    console.rule(f"[bold]{title}")


class DemoFailed(RuntimeError):
    pass


# The demo shows months judged by each form version: its window reaches this far before the latest version
# started, when that adds at most a year to it (see sample_window).
MONTHS_BEFORE_THE_LATEST_VERSION = 3


def sample_window(years: int, end: dt.date) -> tuple[dt.date, dt.date]:
    """The months of the demo's sample returns: `years` years up to `end`, reaching back to a few months
    before the latest form version started when that adds at most a year (with form v2 from 2025-01 and
    two years: until the demo of 2027-09; later ones hold v2 months only)."""
    first = add_months(end, -(12 * years - 1))
    reaching_back = min(first, add_months(load_form().versions[-1].start, -MONTHS_BEFORE_THE_LATEST_VERSION))
    if len(months_between(reaching_back, end)) <= 12 * (years + 1):
        first = reaching_back
    return first, end


def generate_samples(years: int, seed: int, end: dt.date | None = None) -> Path:
    """Generate the sample returns once per (window, seed); reuse them on a rerun."""
    first, end = sample_window(years, end or last_completed_month())
    out = state_dir("samples") / f"{format_period(first)}-to-{format_period(end)}-seed{seed}"
    stamp = out / "manifest.csv"
    if stamp.exists():
        console.print(f"reusing sample returns in {out}")
        return out
    started = time.monotonic()
    entries = generate_returns(out, seed=seed, end=end, first=first, progress=True)
    console.print(f"{len(entries)} province files generated in {time.monotonic() - started:.1f}s: {out}")
    return out


# The latest month already due everywhere, as the demo shows it: who is late, missing, rejected.
PRESENT = {"late": "SD", "missing": "BA", "rejected": "GB"}


def present_month(now: dt.datetime) -> dt.date:
    """The latest month whose return was due (end of the due day) for every province before `now`."""
    from cop.registry import load_registry
    from cop.spec import load_amendment

    month = last_completed_month(now.date())
    latest_due = max(load_amendment(code).due_day for code in load_registry().province_codes)
    while due_date(month, latest_due) >= now.date():
        month = add_months(month, -1)
    return month


def shape_the_present(samples: Path, entries: list[ManifestEntry], now: dt.datetime) -> list[ManifestEntry]:
    """The files a live system would hold by `now`: none planned for later, and in the present month one
    province late, one missing and one rejected (its file carries the previous month on every row)."""
    month = format_period(present_month(now))
    kept = []
    for entry in entries:
        if dt.datetime.fromisoformat(entry.received_at) > now:
            continue
        if entry.period == month and entry.province in PRESENT.values():
            if entry.kind != "on_time" and entry.kind != "late":
                continue  # the present month's revisions and fixes of these provinces never came
            if entry.province == PRESENT["missing"]:
                continue
            if entry.province == PRESENT["late"]:
                entry = _sent_late(entry, now)
            if entry.province == PRESENT["rejected"]:
                entry = _sent_broken(samples, entry)
        kept.append(entry)
    return kept


def _sent_late(entry: ManifestEntry, now: dt.datetime) -> ManifestEntry:
    from cop.spec import load_amendment

    due = due_date(parse_period(entry.period), load_amendment(entry.province).due_day)
    late = dt.datetime.combine(due + dt.timedelta(days=3), dt.time(11), tzinfo=dt.timezone(dt.timedelta(hours=5)))
    return dataclasses.replace(entry, received_at=min(late, now - dt.timedelta(minutes=5)).isoformat(), kind="late")


def _sent_broken(samples: Path, entry: ManifestEntry) -> ManifestEntry:
    """A copy of the file whose every row names the previous month: a blocking error the intake rejects."""
    source = samples / entry.file
    previous = format_period(add_months(parse_period(entry.period), -1))
    broken = samples / "present" / source.name
    broken.parent.mkdir(exist_ok=True)
    broken.write_bytes(source.read_bytes().replace(entry.period.encode(), previous.encode()))
    return dataclasses.replace(entry, file=str(broken.relative_to(samples)), kind="blocking_errors",
                               expected_status="rejected", note="every row carries the previous month")


def submit_samples(samples: Path, hold_back: frozenset[str] = frozenset(),
                   now: dt.datetime | None = None) -> dict[str, int]:
    """Submit the files a live system would hold by `now`, but those held back (the files of `hold_back`)."""
    all_entries = read_manifest(samples)
    entries = [entry for entry in shape_the_present(samples, all_entries, now or dt.datetime.now(dt.timezone.utc))
               if entry.file not in hold_back]
    console.print(f"{len(all_entries) - len(entries)} planned files not sent (yet) by the provinces; the "
                  f"present month {format_period(present_month(now or dt.datetime.now(dt.timezone.utc)))}: "
                  f"{PRESENT['late']} late, {PRESENT['missing']} missing, {PRESENT['rejected']} rejected")
    verdicts: dict[str, int] = {}
    columns = (TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("submitting returns", total=len(entries))
        for entry in entries:
            receipt = submit_generated(samples, entry, channel="demo")
            verdicts[receipt.status] = verdicts.get(receipt.status, 0) + 1
            progress.console.print(_verdict_line(entry, receipt))
            progress.advance(task)
    return verdicts


def _verdict_line(entry: ManifestEntry, receipt) -> str:
    colour = {"accepted": "green", "rejected": "red", "duplicate": "yellow"}.get(receipt.status, "white")
    detail = f"{receipt.rows} rows, {receipt.error_count} errors, {receipt.warning_count} warnings"
    if receipt.errors:
        first = receipt.errors[0]
        detail += f" - first: [{first.rule}] {first.message}"
    version = f"v{receipt.version}" if receipt.version else "  "
    return f"[{colour}]{receipt.status:>9}[/{colour}] {entry.province} {entry.period} {version} {entry.file}: {detail}"


SFTP_DEMO_PROVINCE = "KP"


def _last_file_of(samples: Path, province: str, now: dt.datetime) -> ManifestEntry:
    """The province's latest file among those a live system holds by `now`."""
    kept = shape_the_present(samples, read_manifest(samples), now)
    return [entry for entry in kept if entry.province == province][-1]


def pull_over_sftp(samples: Path, entry: ManifestEntry) -> Path:
    """Start a real SFTP server on localhost holding the province's file, configure the province's source
    (COP_SOURCES_FILE, credentials in AIRFLOW_CONN_*), and fetch twice: the file, then nothing new."""
    import datetime as dt
    import os
    import shutil

    import yaml

    from hub import orchestration
    from hub import run_review
    from hub.localsftp import LocalSftpServer

    folder = state_dir("demo-sftp")
    shutil.rmtree(folder, ignore_errors=True)
    published = folder / "outgoing" / Path(entry.file).name
    published.parent.mkdir(parents=True)
    shutil.copyfile(samples / entry.file, published)
    stamp = dt.datetime.fromisoformat(entry.received_at).timestamp()
    os.utime(published, (stamp, stamp))
    sources = folder.parent / "demo-sources.yaml"
    sources.write_text(yaml.safe_dump({"provinces": {entry.province: {
        "kind": "sftp", "connection": "cop_demo_sftp", "folder": "/outgoing", "files": f"{entry.province}_{{period}}*"}}}))
    with LocalSftpServer(folder) as server:
        os.environ.update(COP_SOURCES_FILE=str(sources), AIRFLOW_CONN_COP_DEMO_SFTP=server.connection_uri())
        console.print(f"SFTP server on 127.0.0.1:{server.port}, sources file {sources}")
        runs = [f"demo-sftp-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}-{n}" for n in (1, 2)]
        try:
            for run_id in runs:     # the second look takes nothing: the ledger knows the file
                orchestration.intake_province(entry.province, "cop_demo", run_id, periods=[entry.period])
                summary = orchestration.monthly_run_summary("cop_demo", run_id, [entry.province])
                fetched = summary.provinces[0].fetch
                console.print(f"{run_id}: [bold]{fetched['state']}[/bold]: {fetched['message']}")
                for outcome in summary.provinces[0].files:
                    console.print(f"  {outcome.sentence()}")
        finally:
            for name in ("COP_SOURCES_FILE", "AIRFLOW_CONN_COP_DEMO_SFTP"):
                os.environ.pop(name, None)
    return run_review.run_dir("cop_demo", runs[0]) / "summary.html"


def _rank_and_report(outputs: DemoOutputs) -> None:
    try:
        run = refresh_rankings(year=None)
    except RankingError as exc:  # --years 1 may cover no whole calendar year
        console.print(f"[yellow]no rankings or report:[/yellow] {exc}; `cop demo --years 2` covers one")
        return
    console.print(f"{run.year}: {run.units_ranked} of {run.units_expected} units ranked, {run.awards} awards")
    console.print(curate_demo_stories(run.year))
    for label, path in write_annual_report(year=run.year, out_dir=state_dir("reports")).items():
        outputs.add(label, path)


def run_demo(years: int = 2, seed: int = 7) -> DemoOutputs:
    outputs = DemoOutputs()
    _stage("1. Database")
    outputs.database_url = db.redacted(db.start())
    console.print(f"warehouse database ready: {outputs.database_url} (`cop db url --show-password`)")

    _stage("2. Sample returns")
    outputs.samples = generate_samples(years, seed)
    outputs.add("sample returns", outputs.samples)

    _stage("3. Intake: land, validate (Great Expectations), load")
    now = dt.datetime.now(dt.timezone.utc)
    pulled = _last_file_of(outputs.samples, SFTP_DEMO_PROVINCE, now)
    verdicts = submit_samples(outputs.samples, hold_back=frozenset({pulled.file}), now=now)
    console.print("verdicts: " + ", ".join(f"{count} {status}" for status, count in sorted(verdicts.items())))
    outputs.add("validation reports", state_dir("validation"))
    outputs.add("landed files (by sha256)", state_dir("landing"))

    _stage(f"3b. Pull {pulled.province} {pulled.period} over SFTP from the province's (local) server")
    outputs.add("SFTP pull review", pull_over_sftp(outputs.samples, pulled))

    _stage("4. Warehouse: dbt build")
    result = build()
    console.print(result.summary())
    if not result.success:
        console.print(result.failure_report())
        raise DemoFailed("the warehouse build failed; see the dbt output above")
    outputs.add("dbt docs", generate_docs())
    outputs.add("BI and province reader logins", "`cop db roles` prints their connection URLs")

    _stage("5. Rankings and annual report")
    _rank_and_report(outputs)
    _stage("6. Monthly bulletin of the latest month")
    for label, path in write_bulletin(latest=True).items():
        outputs.add(label, path)
    outputs.add("province portal", "`cop serve`, then http://127.0.0.1:8000 (accounts: `cop users add`)")
    outputs.add("Airflow UI with the DAGs", "`cop airflow` prints its URL and login")

    _print_summary(outputs)
    return outputs


def curate_demo_stories(year: int) -> str:
    """A federal reviewer account of the demo marks some of the year's stories publishable (the portal's
    Stories page does the same), and the narratives mart is rebuilt with the decisions."""
    from loaders import stories
    from portal.accounts import AccountError, add_user

    try:
        add_user(DEMO_REVIEWER, secrets.token_urlsafe(24), "federal", display_name="Demo federal reviewer")
    except AccountError:
        pass  # a rerun of the demo: the account is there
    marked = stories.curate_sample(year, DEMO_REVIEWER)
    result = build(select="fct_unit_month_narrative")
    if not result.success:
        raise DemoFailed("the narratives mart failed to build:\n" + result.failure_report())
    return f"{marked} stories of {year} marked publishable by {DEMO_REVIEWER}"


def _print_summary(outputs: DemoOutputs) -> None:
    _stage("Where the outputs are")
    console.print(f"[bold]warehouse[/bold]: {outputs.database_url}")
    for label, where in outputs.lines:
        console.print(f"[bold]{label}[/bold]: {where}")
    summary_path = state_dir("outputs") / "demo-summary.json"
    summary_path.write_text(json.dumps({"database_url": outputs.database_url, "outputs": dict(outputs.lines)},
                                       indent=2))
    console.print(f"[bold]this summary[/bold]: {summary_path}")
