"""Verdict latency: how long a province waits for the answer on one file of ~700 units (Punjab, XLSX).

In a scratch database: `history` accepted months first (so the outlier checks have a year of history
to read), two files to warm the process up, then `runs` files, each the next month as Punjab sent it,
each timed through loaders.intake.submit_file (land, read, validate, rules, load, problem files and
report). The stage shares come from the receipts' own timings.

Baseline, on the same files: a typical script with no checks at all, pandas.read_excel then
DataFrame.to_sql(method="multi") into a plain table.
"""
from __future__ import annotations

import io

import pandas as pd

from bench.common import Samples, console, median, percentile, ratio, sqlalchemy_engine, stopwatch
from cop import db
from hub.generate import submit_generated

PROVINCE = "PB"
WARM_UP_FILES = 2
BASELINE_FILES = 5


def measure_verdict(samples: Samples, runs: int = 20, history: int = 12) -> dict:
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
            for stage, seconds in receipt.timings.items():
                stages.setdefault(stage, []).append(seconds)
        naive = [_naive_script(url, samples.path(entry).read_bytes()) for entry in timed[:BASELINE_FILES]]
    total = sum(median(v) for v in stages.values())
    p50 = percentile(walls, 0.5)
    return {
        "province": PROVINCE, "format": "xlsx", "runs": len(walls), "history_months": history,
        "units_median": round(median(rows)), "warnings_median": round(median(warnings)),
        "seconds": {"p50": round(p50, 3), "p95": round(percentile(walls, 0.95), 3),
                    "min": round(min(walls), 3), "max": round(max(walls), 3)},
        "stages_ms_median": {k: round(median(v) * 1000, 1) for k, v in stages.items()},
        "stages_share": {k: round(median(v) / total, 3) for k, v in stages.items()},
        "baseline_naive_script_seconds": round(median(naive), 3),
        "p50_vs_naive_script": ratio(p50, median(naive)),
    }


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
