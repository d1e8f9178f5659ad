"""The end-to-end demo: sample returns -> intake -> warehouse -> rankings and report.

Every stage calls the same library functions as the CLI, the portal and the
DAGs. The demo ends by printing where everything is.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cop import db
from cop.build import build, generate_docs
from cop.generate import ManifestEntry, generate_returns, read_manifest, submit_generated
from cop.paths import state_dir
from reporting.annual import write_annual_report
from reporting.rankings import refresh_rankings

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


def generate_samples(years: int, seed: int) -> Path:
    """Generate the sample returns once per (years, seed); reuse them on a rerun."""
    out = state_dir("samples") / f"years{years}-seed{seed}"
    stamp = out / "manifest.csv"
    if stamp.exists():
        console.print(f"reusing sample returns in {out}")
        return out
    started = time.monotonic()
    entries = generate_returns(out, years=years, seed=seed, progress=True)
    console.print(f"{len(entries)} province files generated in {time.monotonic() - started:.1f}s: {out}")
    return out


def submit_samples(samples: Path) -> dict[str, int]:
    entries = read_manifest(samples)
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


def run_demo(years: int = 2, seed: int = 7) -> DemoOutputs:
    outputs = DemoOutputs()
    _stage("1. Database")
    outputs.database_url = db.start()
    console.print(f"warehouse database ready: {outputs.database_url}")

    _stage("2. Sample returns")
    outputs.samples = generate_samples(years, seed)
    outputs.add("sample returns", outputs.samples)

    _stage("3. Intake: land, validate (Great Expectations), load")
    verdicts = submit_samples(outputs.samples)
    console.print("verdicts: " + ", ".join(f"{count} {status}" for status, count in sorted(verdicts.items())))
    outputs.add("validation reports", state_dir("validation"))
    outputs.add("landed files (by sha256)", state_dir("landing"))

    _stage("4. Warehouse: dbt build")
    result = build()
    console.print(result.summary())
    if not result.success:
        console.print(result.failure_report())
        raise DemoFailed("the warehouse build failed; see the dbt output above")
    outputs.add("dbt docs", generate_docs())
    outputs.add("BI and province reader logins", "`cop db roles` prints their connection URLs")

    _stage("5. Rankings and annual report")
    run = refresh_rankings(year=None)
    console.print(f"{run.year}: {run.units_ranked} of {run.units_expected} units ranked, {run.awards} awards")
    for label, path in write_annual_report(year=run.year, out_dir=state_dir("reports")).items():
        outputs.add(label, path)
    outputs.add("province portal", "`cop serve`, then http://127.0.0.1:8000 (accounts: `cop users add`)")
    outputs.add("Airflow UI with the DAGs", "`cop airflow` prints its URL and login")

    _print_summary(outputs)
    return outputs


def _print_summary(outputs: DemoOutputs) -> None:
    _stage("Where the outputs are")
    console.print(f"[bold]warehouse[/bold]: {outputs.database_url}")
    for label, where in outputs.lines:
        console.print(f"[bold]{label}[/bold]: {where}")
    summary_path = state_dir("outputs") / "demo-summary.json"
    summary_path.write_text(json.dumps({"database_url": outputs.database_url, "outputs": dict(outputs.lines)},
                                       indent=2))
    console.print(f"[bold]this summary[/bold]: {summary_path}")
