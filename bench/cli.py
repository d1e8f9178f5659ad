"""`cop-bench` (or `make bench`): the benchmarks, a command of their own because they sit above the
shell they measure (docs/ARCHITECTURE.md)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from bench.run import DEFAULT_OUT, run_benchmarks

app = typer.Typer(add_completion=False)
SECTIONS = ("anomalies", "verdict")


@app.command()
def bench(
    years: int = typer.Option(10, "--years", min=2, max=12, help="Years of national returns to backfill."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for results.json, results.md and growth.png "
                                                           "(default: the repository's bench/)."),
    workers: int = typer.Option(2, "--workers", min=1, help="Processes submitting files in the backfill."),
    verdict_runs: int = typer.Option(20, "--verdict-runs", min=1, help="Timed files in the verdict latency."),
    cold_runs: int = typer.Option(3, "--cold-runs", min=1, help="`cop submit --check-only` processes in the cold "
                                                                 "verdict (each beside an import of GX)."),
    keep: bool = typer.Option(False, "--keep", help="Keep the benchmark's COP_HOME and its database running."),
    section: Optional[str] = typer.Option(None, "--section", help="Run one section alone: 'anomalies' (planted "
                                          "anomalies against the warnings and the integrity screen; writes "
                                          "anomalies.json and anomalies.md) or 'verdict' (the warm and the cold "
                                          "verdict against their baselines; writes them over the verdict figures "
                                          "of results.json and results.md)."),
) -> None:
    """Measure the pipeline against its baselines (loader, verdict, backfill, growth, monthly cycle,
    planted anomalies) in a fresh COP_HOME of its own, and write the figures."""
    if section not in (None, *SECTIONS):
        raise typer.BadParameter(f"unknown section '{section}'; the sections that run alone are "
                                 f"{', '.join(SECTIONS)}", param_hint="--section")
    run_benchmarks(out=(out or DEFAULT_OUT).resolve(), years=years, workers=workers, verdict_runs=verdict_runs,
                   cold_runs=cold_runs, keep=keep, section=section)


if __name__ == "__main__":
    app()
