"""Run every benchmark stage in one fresh COP_HOME and write the figures.

    cop-bench [--years 10] [--out bench/] [--workers 2] [--verdict-runs 20] [--cold-runs 3]
              [--section anomalies|verdict]

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
                   verdict_runs: int = 20, keep: bool = False, section: str | None = None,
                   cold_runs: int = 3) -> dict:
    home = Path(tempfile.mkdtemp(prefix="cop-bench-"))
    os.environ["COP_HOME"] = str(home)
    os.environ["DBT_QUIET"] = "true"  # dbt's per-node lines would bury the progress bars
    from cop import db

    console.print(f"benchmark home: {home} (its own embedded PostgreSQL unless COP_DATABASE_URL is set)")
    try:
        db.start()
        if section == "anomalies":
            return _anomalies_only(out, years, seed, workers)
        if section == "verdict":
            results = _verdict_only(out, seed, verdict_runs, cold_runs)
        else:
            results = _stages(years, seed, workers, verdict_runs, cold_runs)
    finally:
        if not keep:
            db.stop()
            shutil.rmtree(home, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "results.md").write_text(markdown(results))
    written = [out / "results.json", out / "results.md"]
    if "growth" in results:
        _growth_chart(results["growth"], out / "growth.png")
        written.append(out / "growth.png")
    print(markdown(results))
    console.print(f"figures written to {', '.join(str(path) for path in written)}")
    return results


def _verdict_only(out: Path, seed: int, verdict_runs: int, cold_runs: int) -> dict:
    """The verdict figures alone (warm and cold), on as many months of samples as they need, written over
    the verdict figures of the last full run in `out` (the other figures are kept as they were)."""
    from bench.verdict import measure_verdict, months_needed
    from cop.paths import state_dir
    from hub.generate import generate_returns

    previous = out / "results.json"
    results = json.loads(previous.read_text()) if previous.exists() else _run_header(0, seed)
    years = -(-months_needed(verdict_runs) // 12)
    samples = Samples(state_dir("samples") / f"years{years}-seed{seed}")
    console.rule(f"[bold]Sample returns ({years} years)")
    generate_returns(samples.folder, years=years, seed=seed, progress=True)
    console.rule("[bold]Verdict latency, warm and cold")
    results["verdict"] = (measure_verdict(samples, runs=verdict_runs, cold_runs=cold_runs)
                          | {"measured_at": _now(), "machine": _machine()})
    return results


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()]}


def _run_header(years: int, seed: int) -> dict:
    return {"measured_at": _now(), "machine": _machine(), "sample_years": years, "seed": seed}


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


def _stages(years: int, seed: int, workers: int, verdict_runs: int, cold_runs: int) -> dict:
    from bench.backfill import backfill_and_grow
    from bench.anomalies import measure_anomalies
    from bench.cycle import measure_cycle
    from bench.loader import measure_loader
    from bench.portal_load import measure_portal_load
    from bench.verdict import measure_verdict
    from hub.generate import generate_returns
    from cop.paths import state_dir

    results = _run_header(years, seed)
    with stopwatch() as total:
        console.rule("[bold]Sample returns")
        samples = Samples(state_dir("samples") / f"years{years}-seed{seed}")
        with stopwatch() as watch:
            generate_returns(samples.folder, years=years, seed=seed, progress=True)
        results["generate_seconds"] = round(watch.seconds, 1)
        console.rule("[bold]1. Loader throughput")
        results["loader"] = measure_loader(samples)
        console.rule("[bold]2. Verdict latency")
        results["verdict"] = measure_verdict(samples, runs=verdict_runs, cold_runs=cold_runs)
        console.rule("[bold]2b. Verdicts under load: concurrent portal uploads")
        results["portal_load"] = measure_portal_load(samples)
        console.rule("[bold]3-4. Backfill, and the build as history grows")
        results["backfill"], results["growth"] = backfill_and_grow(samples, workers)
        console.rule("[bold]5. Monthly cycle")
        results["monthly_cycle"] = measure_cycle(samples)
        console.rule("[bold]6. Planted anomalies")
        results["anomalies"] = measure_anomalies(samples)
    results["total_seconds"] = round(total.seconds, 1)
    results["machine"]["load_average_1_5_15"] = [round(x, 2) for x in os.getloadavg()]
    return results


def markdown(results: dict) -> str:
    rows, notes = [], []
    if "loader" in results:
        rows += _loader_rows(results["loader"])
    if "verdict" in results:
        verdict_rows, verdict_notes = _verdict_rows(results["verdict"], results)
        rows += verdict_rows
        notes += verdict_notes
    if "portal_load" in results:
        load = results["portal_load"]
        rows.append((f"Verdicts/s, {load['uploads']} portal uploads at once (zero errors: {load['http_errors'] == 0}, "
                     f"verdicts as alone: {load['verdicts_identical']})", load["concurrent"]["verdicts_per_second"],
                     f"one at a time {load['serial']['verdicts_per_second']}", load["concurrent_vs_serial"]))
    if "backfill" in results:
        backfill, psql = results["backfill"], results["loader"]["psql_copy"]["rows_per_second"]
        rows += [(f"Backfill: {backfill['files']} files, {backfill['months']} months (files/s)",
                  backfill["files_per_second"], "", ""),
                 ("Backfill: value rows/s", f"{backfill['value_rows_per_second']:,}", f"psql \\copy {psql:,}",
                  round(backfill["value_rows_per_second"] / psql, 3))]
    rows += [(f"Incremental dbt build, one new month on {g['history_months']} months (s)", g["incremental_seconds"],
              f"full refresh {g['full_refresh_seconds']}", g["incremental_vs_full_refresh"])
             for g in results.get("growth", [])]
    if "monthly_cycle" in results:
        cycle = results["monthly_cycle"]
        rows.append((f"Monthly cycle through Airflow dag.test(), {cycle['airflow']['files']} files (s)",
                     cycle["airflow"]["seconds"], f"same calls directly {cycle['direct']['seconds']}",
                     cycle["airflow_vs_direct"]))
    machine = results["machine"]
    load = f", load average {machine['load_average_1_5_15'][0]}" if "load_average_1_5_15" in machine else ""
    lines = [f"# Benchmark results ({results['measured_at']}, {machine['cpus']} CPUs{load})", "",
             "| figure | measured | baseline (same run) | ratio |", "|---|---:|---|---:|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    lines += [""] + notes
    if "total_seconds" in results:
        lines.append(f"Whole benchmark: {results['total_seconds']:.0f} s (generating the samples: "
                     f"{results['generate_seconds']:.0f} s).")
    lines.append("")
    if "anomalies" in results:
        from bench.anomalies import markdown as anomaly_markdown

        lines.append(anomaly_markdown(results["anomalies"]))
    return "\n".join(lines)


def _loader_rows(loader: dict) -> list[tuple]:
    return [("Loader: rows/s through the project's COPY path", f"{loader['project_copy']['rows_per_second']:,}",
             f"psql \\copy {loader['psql_copy']['rows_per_second']:,}", loader["project_vs_psql_copy"]),
            ("Loader: the same, against a typical script", f"{loader['project_copy']['rows_per_second']:,}",
             f"pandas to_sql(multi) {loader['pandas_to_sql_multi']['rows_per_second']:,}", loader["project_vs_pandas"])]


def _verdict_rows(verdict: dict, results: dict) -> tuple[list[tuple], list[str]]:
    from bench.verdict import what_dominates

    naive = f"read_excel + to_sql, no checks: {verdict['baseline_naive_script_seconds']}"
    rows = [(f"Verdict p50, {verdict['units_median']}-unit Punjab XLSX (s)", verdict["seconds"]["p50"], naive,
             verdict["p50_vs_naive_script"]),
            ("Verdict p95 (s)", verdict["seconds"]["p95"], naive, verdict.get("p95_vs_naive_script", ""))]
    notes = [f"What dominates the warm verdict (median per stage): {what_dominates(verdict)}."]
    if "cold" in verdict:
        cold = verdict["cold"]
        rows.append((f"Cold verdict: one `cop submit --check-only` process (s, median of {cold['runs']})",
                     cold["cli_seconds"], f"python -c \"import great_expectations\": {cold['import_gx_seconds']}",
                     f"{cold['cli_vs_import_gx']} (+{cold['cli_minus_import_gx_seconds']} s)"))
        notes.append(f"What dominates the cold verdict: {what_dominates(cold)}.")
    if verdict.get("measured_at") and verdict["measured_at"] != results["measured_at"]:
        load = verdict["machine"]["load_average_1_5_15"][0]
        others = "; the others from the full run" if "loader" in results else ""
        notes.append(f"The verdict figures are from `cop-bench --section verdict` at {verdict['measured_at']} "
                     f"(load average {load}){others}.")
    return rows, notes


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
