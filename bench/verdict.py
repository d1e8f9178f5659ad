"""Verdict latency: how long a province waits for the answer on one file of ~700 units (Punjab, XLSX).

In a scratch database: `history` accepted months first (so the outlier checks have a year of history
to read), two files to warm the process up, then `runs` files, each the next month as Punjab sent it,
each timed through loaders.intake.submit_file (land, read, validate, rules, load, problem files and
report). The stage shares come from the receipts' own timings.

Baseline, on the same files: a typical script with no checks at all, pandas.read_excel then
DataFrame.to_sql(method="multi") into a plain table.

The cold verdict: one `cop submit --check-only` process on one of those files (what a clerk's command
or an Airflow task pays, the forkserver started from nothing), against `python -c "import
great_expectations"` measured in turn with it.
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from bench.common import Samples, console, median, percentile, ratio, sqlalchemy_engine, stopwatch
from cop import db
from hub.generate import ManifestEntry, submit_generated

PROVINCE = "PB"
WARM_UP_FILES = 2
BASELINE_FILES = 5
HISTORY_MONTHS = 12
COLD_RUNS = 3


def months_needed(runs: int, history: int = HISTORY_MONTHS) -> int:
    return history + WARM_UP_FILES + runs


def measure_verdict(samples: Samples, runs: int = 20, history: int = HISTORY_MONTHS,
                    cold_runs: int = COLD_RUNS) -> dict:
    entries = samples.first_accepted(PROVINCE)
    runs = min(runs, len(entries) - history - WARM_UP_FILES)
    if runs < 1:
        raise ValueError(f"the samples have {len(entries)} {PROVINCE} months; the verdict needs more than "
                         f"{history + WARM_UP_FILES}")
    past, warm_up, timed = (entries[:history], entries[history:history + WARM_UP_FILES],
                            entries[history + WARM_UP_FILES:history + WARM_UP_FILES + runs])
    console.print(f"verdict: {len(past)} months of {PROVINCE} history, {len(warm_up)} warm-up files, "
                  f"{len(timed)} timed files")
    walls, stages, rows, warnings = [], {}, [], []
    with db.temporary_database("bench_verdict") as url:
        for entry in past + warm_up:
            _submit(samples, entry)
        for entry in timed:
            with stopwatch() as watch:
                receipt = _submit(samples, entry)
            walls.append(watch.seconds)
            rows.append(receipt.rows)
            warnings.append(receipt.warning_count)
            # "other": what no stage times (landing the bytes, the month's lock, the duplicate check).
            for stage, seconds in (receipt.timings | {"other": watch.seconds - sum(receipt.timings.values())}).items():
                stages.setdefault(stage, []).append(seconds)
        naive = [_naive_script(url, samples.path(entry).read_bytes()) for entry in timed[:BASELINE_FILES]]
        cold = measure_cold_verdict(samples, timed[0], cold_runs)
    p50, p95 = percentile(walls, 0.5), percentile(walls, 0.95)
    return {
        "province": PROVINCE, "format": "xlsx", "runs": len(walls), "history_months": history,
        "units_median": round(median(rows)), "warnings_median": round(median(warnings)),
        "seconds": {"p50": round(p50, 3), "p95": round(p95, 3),
                    "min": round(min(walls), 3), "max": round(max(walls), 3)},
        **_stage_figures(stages),
        "baseline_naive_script_seconds": round(median(naive), 3),
        "p50_vs_naive_script": ratio(p50, median(naive)),
        "p95_vs_naive_script": ratio(p95, median(naive)),
        "cold": cold,
    }


def measure_cold_verdict(samples: Samples, entry: ManifestEntry, runs: int = COLD_RUNS) -> dict:
    """`cop submit --check-only` in a new process, in turn with `python -c "import great_expectations"`."""
    console.print(f"cold verdict: {runs} x `cop submit --check-only {entry.file}`, each after importing GX alone")
    imports, walls, stages = [], [], {}
    for _ in range(runs):
        with stopwatch() as watch:
            subprocess.run([sys.executable, "-c", "import great_expectations"], check=True)
        imports.append(watch.seconds)
        with stopwatch() as watch:
            done = subprocess.run([str(Path(sys.executable).with_name("cop")), "submit", "--check-only", "--json",
                                   str(samples.path(entry)), "--province", entry.province, "--period", entry.period,
                                   "--by", "bench"], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"cop submit --check-only failed ({done.returncode}): {done.stderr[-2000:]}")
        walls.append(watch.seconds)
        timings = {k: v / 1000 for k, v in json.loads(done.stdout)["timings_ms"].items()}
        # "startup": the interpreter, the command's imports and its database connection.
        for stage, seconds in ({"startup": watch.seconds - sum(timings.values())} | timings).items():
            stages.setdefault(stage, []).append(seconds)
    cli, gx_import = median(walls), median(imports)
    return {"runs": runs, "cli_seconds": round(cli, 3), "import_gx_seconds": round(gx_import, 3),
            "cli_minus_import_gx_seconds": round(cli - gx_import, 3), "cli_vs_import_gx": ratio(cli, gx_import),
            **_stage_figures(stages)}


def _stage_figures(stages: dict[str, list[float]]) -> dict:
    medians = {stage: max(0.0, median(values)) for stage, values in stages.items()}
    total = sum(medians.values())
    return {"stages_ms_median": {k: round(v * 1000, 1) for k, v in medians.items()},
            "stages_share": {k: round(v / total, 3) for k, v in medians.items()}}


def what_dominates(figure: dict, top: int = 3) -> str:
    """The stages that take most of a figure's time, largest first."""
    ranked = sorted(figure["stages_share"].items(), key=lambda item: -item[1])[:top]
    return ", ".join(f"{stage} {share:.0%} ({figure['stages_ms_median'][stage]:,.0f} ms)" for stage, share in ranked)


def _submit(samples: Samples, entry):
    receipt = submit_generated(samples.folder, entry, channel="bench")
    if receipt.status != "accepted":
        raise RuntimeError(f"bench sample {entry.file} was not accepted: {receipt.summary}")
    return receipt


def _naive_script(url: str, content: bytes) -> float:
    engine = sqlalchemy_engine(url)
    try:
        with stopwatch() as watch:
            frame = pd.read_excel(io.BytesIO(content), sheet_name=0)
            frame.to_sql("naive_returns", engine, if_exists="append", index=False, method="multi", chunksize=1000)
    finally:
        engine.dispose()
    return watch.seconds
