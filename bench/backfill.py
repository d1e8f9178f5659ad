"""Backfill and growth: ten years of national returns submitted and built, and the dbt build as
history grows.

Files go through loaders.intake.submit_file, one worker process per province at a time (as the
monthly DAG maps one task per province), each province's files in the order they were sent.

At each checkpoint (1, 5 and about 10 years of history loaded) the warehouse is rebuilt from raw
(`dbt build --full-refresh`, the baseline), then one new month arrives and the incremental
`dbt build` runs, as the monthly cycle does. A flat incremental time means the monthly cost does
not grow with history.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.common import Samples, console, ratio
from cop import db
from cop.build import BuildResult, build
from hub.generate import ManifestEntry, submit_generated
from cop.paths import state_dir

CHECKPOINT_YEARS = (1, 5, 10)


@dataclass
class Batch:
    """Files submitted together (one or more months), and what they cost."""
    files: int = 0
    unit_rows: int = 0
    value_rows: int = 0
    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)

    def add(self, other: "Batch") -> None:
        self.files += other.files
        self.unit_rows += other.unit_rows
        self.value_rows += other.value_rows
        self.seconds += other.seconds
        self.statuses.update(other.statuses)


# The samples' last two months are left for the monthly cycle (cycle.py): one run directly, one through Airflow.
MONTHS_LEFT_FOR_THE_CYCLE = 2


def checkpoints(months: int) -> list[int]:
    """History sizes (months loaded) at which the build is measured; each checkpoint then adds one month."""
    last = months - MONTHS_LEFT_FOR_THE_CYCLE - 1
    wanted = {min(12 * years, last) for years in CHECKPOINT_YEARS}
    return sorted(h for h in wanted if h >= 1)


def backfill_and_grow(samples: Samples, workers: int) -> tuple[dict, list[dict]]:
    """Submit every month but the cycle's, building at each checkpoint: the backfill and growth figures."""
    # One pool for the whole backfill: each worker pays its start-up (imports, GX context) once.
    context = multiprocessing.get_context("spawn")  # no fork of a process holding connections and threads
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return _backfill_and_grow(samples, pool, workers)


def _backfill_and_grow(samples: Samples, pool: ProcessPoolExecutor, workers: int) -> tuple[dict, list[dict]]:
    periods = samples.periods
    backfill, growth, loaded = Batch(), [], 0
    for history in checkpoints(len(periods)):
        backfill.add(submit_months(samples, periods[loaded:history], pool))
        full = _build(full_refresh=True)
        new_month = submit_months(samples, [periods[history]], pool)
        backfill.add(new_month)
        incremental = _build(full_refresh=False)
        growth.append({"history_months": history, "new_month": periods[history],
                       "incremental_seconds": round(incremental.seconds, 1),
                       "full_refresh_seconds": round(full.seconds, 1),
                       "incremental_vs_full_refresh": ratio(incremental.seconds, full.seconds),
                       "incremental_breakdown": build_breakdown(), "value_rows_in_raw": _value_rows()})
        console.print(f"  {history} months of history: incremental build {incremental.seconds:.1f} s, "
                      f"full refresh {full.seconds:.1f} s")
        loaded = history + 1
    final_build = growth[-1]["full_refresh_seconds"]
    figures = {"files": backfill.files, "months": loaded, "workers": workers, "statuses": dict(backfill.statuses),
               "unit_rows": backfill.unit_rows, "value_rows": backfill.value_rows,
               "submit_seconds": round(backfill.seconds, 1),
               "files_per_second": round(backfill.files / backfill.seconds, 2),
               "value_rows_per_second": round(backfill.value_rows / backfill.seconds),
               "submitted_and_built_seconds": round(backfill.seconds + final_build, 1)}
    return figures, growth


def _build(full_refresh: bool) -> BuildResult:
    result = build(full_refresh=full_refresh)
    if not result.success:
        raise RuntimeError(result.failure_report())
    return result


def _value_rows() -> int:
    with db.connect() as conn:
        return conn.execute("select count(*) from raw.return_values").fetchone()[0]


def build_breakdown() -> dict:
    """Node-seconds of the last dbt run by kind (nodes run 4 at a time, so they add up to more than the
    wall time), and its five slowest nodes."""
    results = json.loads((state_dir("dbt") / "target" / "run_results.json").read_text())["results"]
    kinds: Counter = Counter()
    for node in results:
        kinds[_kind(node["unique_id"])] += node["execution_time"]
    slowest = sorted(results, key=lambda n: -n["execution_time"])[:5]
    return {"node_seconds": {k: round(v, 1) for k, v in kinds.most_common()},
            "slowest": {n["unique_id"].split(".")[2][:90]: round(n["execution_time"], 1) for n in slowest}}


def _kind(unique_id: str) -> str:
    resource, name = unique_id.split(".")[0], unique_id.split(".")[2]
    if resource == "model":
        return "incremental facts" if name.startswith("fct_") else "other models"
    return {"test": "data tests", "unit_test": "unit tests", "snapshot": "snapshots"}.get(resource, resource)


# ---------------------------------------------------------------- parallel submission


def submit_months(samples: Samples, periods: list[str], pool: ProcessPoolExecutor) -> Batch:
    wanted = set(periods)
    entries = [e for e in samples.entries if e.period in wanted]
    by_province: dict[str, list] = {}
    for entry in entries:
        by_province.setdefault(entry.province, []).append(entry)
    largest_first = sorted(by_province, key=lambda p: -sum(samples.path(e).stat().st_size for e in by_province[p]))
    values_before = _value_rows()
    batch = Batch(files=len(entries))
    label = f"submitting {periods[0]}" + (f" to {periods[-1]}" if len(periods) > 1 else "")
    started = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task(label, total=len(entries))
        futures = [pool.submit(_submit_province, os.environ["COP_HOME"], samples.folder, by_province[province])
                   for province in largest_first]
        submitted_before = _submission_count()
        while not all(f.done() for f in futures):
            progress.update(task, completed=_submission_count() - submitted_before)
            time.sleep(0.5)
        progress.update(task, completed=len(entries))
        for future in futures:
            statuses, unit_rows = future.result()
            batch.statuses.update(statuses)
            batch.unit_rows += unit_rows
    batch.seconds = time.perf_counter() - started
    batch.value_rows = _value_rows() - values_before
    return batch


def _submission_count() -> int:
    with db.connect() as conn:
        return conn.execute("select count(*) from raw.submissions").fetchone()[0]


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True)


def _submit_province(home: str, folder: Path, entries: list[ManifestEntry]) -> tuple[Counter, int]:
    """One worker's share: a province's files, in the order sent (runs in a child process)."""
    os.environ["COP_HOME"] = home
    statuses, unit_rows = Counter(), 0
    for entry in entries:
        receipt = submit_generated(folder, entry, channel="bench")
        statuses[receipt.status] += 1
        unit_rows += receipt.rows if receipt.status == "accepted" else 0
    return statuses, unit_rows
