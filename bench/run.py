"""Run every benchmark stage in one fresh COP_HOME and write the figures.

    cop-bench [--years 10] [--out bench/] [--workers 2] [--verdict-runs 20] [--section anomalies]

Writes results.json (every figure), results.md (the table) and growth.png (the build as history
grows) into --out. Each figure stands beside a baseline measured in the same run, as a ratio:
absolute seconds on a shared machine are noise, ratios much less so.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import tempfile
from pathlib import Path

from bench.common import Samples, console, stopwatch
from cop.paths import REPO_ROOT

DEFAULT_OUT = REPO_ROOT / "bench"


def run_benchmarks(out: Path = DEFAULT_OUT, years: int = 10, seed: int = 7, workers: int = 2,
                   verdict_runs: int = 20, keep: bool = False, section: str | None = None) -> dict:
    home = Path(tempfile.mkdtemp(prefix="cop-bench-"))
    os.environ["COP_HOME"] = str(home)
    os.environ["DBT_QUIET"] = "true"  # dbt's per-node lines would bury the progress bars
    from cop import db

    console.print(f"benchmark home: {home} (its own embedded PostgreSQL unless COP_DATABASE_URL is set)")
    try:
        db.start()
        if section == "anomalies":
            return _anomalies_only(out, years, seed, workers)
        results = _stages(years, seed, workers, verdict_runs)
    finally:
        if not keep:
            db.stop()
            shutil.rmtree(home, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "results.md").write_text(markdown(results))
    _growth_chart(results["growth"], out / "growth.png")
    print(markdown(results))
    console.print(f"figures written to {out / 'results.json'}, {out / 'results.md'} and {out / 'growth.png'}")
    return results


def _anomalies_only(out: Path, years: int, seed: int, workers: int) -> dict:
    from bench.anomalies import markdown as anomaly_markdown, run_section

    results = {"measured_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "sample_years": years, "seed": seed, "anomalies": run_section(years, seed, workers)}
    out.mkdir(parents=True, exist_ok=True)
    (out / "anomalies.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "anomalies.md").write_text(anomaly_markdown(results["anomalies"]))
    print(anomaly_markdown(results["anomalies"]))
    console.print(f"figures written to {out / 'anomalies.json'} and {out / 'anomalies.md'}")
    return results


def _stages(years: int, seed: int, workers: int, verdict_runs: int) -> dict:
    from bench.backfill import backfill_and_grow
    from bench.anomalies import measure_anomalies
    from bench.cycle import measure_cycle
    from bench.loader import measure_loader
    from bench.portal_load import measure_portal_load
    from bench.verdict import measure_verdict
    from hub.generate import generate_returns
    from cop.paths import state_dir

    results = {"measured_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "platform": platform.platform()},
               "sample_years": years, "seed": seed}
    with stopwatch() as total:
        console.rule("[bold]Sample returns")
        samples = Samples(state_dir("samples") / f"years{years}-seed{seed}")
        with stopwatch() as watch:
            generate_returns(samples.folder, years=years, seed=seed, progress=True)
        results["generate_seconds"] = round(watch.seconds, 1)
        console.rule("[bold]1. Loader throughput")
        results["loader"] = measure_loader(samples)
        console.rule("[bold]2. Verdict latency")
        results["verdict"] = measure_verdict(samples, runs=verdict_runs)
        console.rule("[bold]2b. Verdicts under load: concurrent portal uploads")
        results["portal_load"] = measure_portal_load(samples)
        console.rule("[bold]3-4. Backfill, and the build as history grows")
        results["backfill"], results["growth"] = backfill_and_grow(samples, workers)
        console.rule("[bold]5. Monthly cycle")
        results["monthly_cycle"] = measure_cycle(samples)
        console.rule("[bold]6. Planted anomalies")
        results["anomalies"] = measure_anomalies(samples)
    results["total_seconds"] = round(total.seconds, 1)
    return results


def markdown(results: dict) -> str:
    loader, verdict, backfill, cycle = (results["loader"], results["verdict"], results["backfill"],
                                        results["monthly_cycle"])
    load = results["portal_load"]
    rows = [
        ("Loader: rows/s through the project's COPY path", f"{loader['project_copy']['rows_per_second']:,}",
         f"psql \\copy {loader['psql_copy']['rows_per_second']:,}", loader["project_vs_psql_copy"]),
        ("Loader: the same, against a typical script", f"{loader['project_copy']['rows_per_second']:,}",
         f"pandas to_sql(multi) {loader['pandas_to_sql_multi']['rows_per_second']:,}", loader["project_vs_pandas"]),
        (f"Verdict p50, {verdict['units_median']}-unit Punjab XLSX (s)", verdict["seconds"]["p50"],
         f"read_excel + to_sql, no checks: {verdict['baseline_naive_script_seconds']}", verdict["p50_vs_naive_script"]),
        ("Verdict p95 (s)", verdict["seconds"]["p95"], "", ""),
        (f"Verdicts/s, {load['uploads']} portal uploads at once (zero errors: {load['http_errors'] == 0}, "
         f"verdicts as alone: {load['verdicts_identical']})", load["concurrent"]["verdicts_per_second"],
         f"one at a time {load['serial']['verdicts_per_second']}", load["concurrent_vs_serial"]),
        (f"Backfill: {backfill['files']} files, {backfill['months']} months (files/s)", backfill["files_per_second"],
         "", ""),
        ("Backfill: value rows/s", f"{backfill['value_rows_per_second']:,}",
         f"psql \\copy {loader['psql_copy']['rows_per_second']:,}",
         round(backfill["value_rows_per_second"] / loader["psql_copy"]["rows_per_second"], 3)),
    ]
    rows += [(f"Incremental dbt build, one new month on {g['history_months']} months (s)", g["incremental_seconds"],
              f"full refresh {g['full_refresh_seconds']}", g["incremental_vs_full_refresh"])
             for g in results["growth"]]
    rows.append((f"Monthly cycle through Airflow dag.test(), {cycle['airflow']['files']} files (s)",
                 cycle["airflow"]["seconds"], f"same calls directly {cycle['direct']['seconds']}",
                 cycle["airflow_vs_direct"]))
    shares = ", ".join(f"{stage} {share:.0%}" for stage, share in verdict["stages_share"].items())
    lines = [f"# Benchmark results ({results['measured_at']}, {results['machine']['cpus']} CPUs)", "",
             "| figure | measured | baseline (same run) | ratio |", "|---|---:|---|---:|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    lines += ["", f"Verdict time by stage (median): {shares}.",
              f"Whole benchmark: {results['total_seconds']:.0f} s (generating the samples: "
              f"{results['generate_seconds']:.0f} s).", ""]
    if "anomalies" in results:
        from bench.anomalies import markdown as anomaly_markdown

        lines.append(anomaly_markdown(results["anomalies"]))
    return "\n".join(lines)


def _growth_chart(growth: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = [g["history_months"] for g in growth]
    figure, axis = plt.subplots(figsize=(6, 3.4), dpi=130)
    axis.plot(history, [g["full_refresh_seconds"] for g in growth], marker="o", color="#9aa5b1",
              label="full refresh (rebuild from raw)")
    axis.plot(history, [g["incremental_seconds"] for g in growth], marker="o", color="#1b7f5b",
              label="incremental build, one new month")
    axis.set_xlabel("months of national history already loaded")
    axis.set_ylabel("seconds")
    axis.set_ylim(bottom=0)
    axis.set_title("dbt build time as history grows", fontweight="bold")
    axis.spines[["top", "right"]].set_visible(False)
    axis.legend(frameon=False)
    figure.savefig(path, bbox_inches="tight")
    plt.close(figure)
