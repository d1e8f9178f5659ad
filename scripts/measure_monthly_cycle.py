"""Time one full monthly cycle through Airflow's `dag.test()` on the demo data.

    .venv/bin/python scripts/measure_monthly_cycle.py [--years 2] [--seed 7] [--metadata sqlite|postgres]

In a fresh COP_HOME (a temporary folder unless COP_HOME is set): generate the demo's sample returns,
submit every month but the last straight to the intake (the history the outlier checks need; not
timed), drop the last month's files in the provinces' inboxes as their uploads would arrive, then
time cop_monthly_returns (land, validate, load every province) and cop_warehouse_build (dbt build,
rankings, docs), each through dag.test() in its own process. Prints the figures and writes them to
COP_HOME/outputs/monthly-cycle-timing.json (measure_cycle() returns them, for the benchmark command).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def measure_cycle(years: int = 2, seed: int = 7, metadata: str = "sqlite") -> dict:
    from cop import airflow_local, db, inbox
    from cop.generate import generate_returns, read_manifest
    from cop.paths import state_dir
    from loaders.intake import submit_file

    db.start()
    samples = state_dir("samples") / f"years{years}-seed{seed}"
    if not (samples / "manifest.csv").exists():
        generate_returns(samples, years=years, seed=seed)
    entries = read_manifest(samples)
    last = max(e.period for e in entries)
    started = time.perf_counter()
    for entry in (e for e in entries if e.period != last):
        path = samples / entry.file
        submit_file(path.read_bytes(), path.name, entry.province, entry.period, submitted_by=f"{entry.province}-history",
                    channel="bench", received_at=dt.datetime.fromisoformat(entry.received_at))
    history_seconds = time.perf_counter() - started
    dropped = inbox.drop_generated(samples, {last})
    airflow_local.migrate_metadata(metadata)
    monthly = airflow_local.dag_test("cop_monthly_returns", metadata=metadata)
    warehouse = airflow_local.dag_test("cop_warehouse_build", metadata=metadata)
    figures = {
        "measured_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "years": years, "seed": seed, "metadata_db": metadata, "month": last, "files_dropped": len(dropped),
        "history_months_loaded_seconds": round(history_seconds, 1),
        "monthly_returns_seconds": monthly["seconds"], "monthly_returns_state": monthly["state"],
        "warehouse_build_seconds": warehouse["seconds"], "warehouse_build_state": warehouse["state"],
        "monthly_cycle_seconds": round(monthly["seconds"] + warehouse["seconds"], 1),
        "cpu_count": os.cpu_count(),
    }
    (state_dir("outputs") / "monthly-cycle-timing.json").write_text(json.dumps(figures, indent=1))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--metadata", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--keep", action="store_true", help="keep the embedded PostgreSQL running at the end")
    args = parser.parse_args()
    if not os.environ.get("COP_HOME"):
        os.environ["COP_HOME"] = tempfile.mkdtemp(prefix="cop-monthly-cycle-")
    from cop import db

    try:
        figures = measure_cycle(args.years, args.seed, args.metadata)
    finally:
        if not args.keep:
            db.stop()
    print(json.dumps(figures, indent=1))
    print(f"one monthly cycle ({figures['files_dropped']} files of {figures['month']}, then the warehouse build): "
          f"{figures['monthly_cycle_seconds']:.0f} s = cop_monthly_returns {figures['monthly_returns_seconds']:.0f} s "
          f"+ cop_warehouse_build {figures['warehouse_build_seconds']:.0f} s (COP_HOME={os.environ['COP_HOME']})")
    return 0 if figures["monthly_returns_state"] == figures["warehouse_build_state"] == "success" else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
