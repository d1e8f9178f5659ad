"""How long a province waits for its verdict: a 700-unit Punjab XLSX, warm process.

    .venv/bin/python scripts/measure_verdict.py [--runs 20] [--history-months 12] [--out FILE]

Runs in its own COP_HOME (a temporary folder unless --home is given) with its
own embedded PostgreSQL. Loads `--history-months` accepted months first, so
that the history warnings query has real work to do, warms the process up,
then submits `--runs` different files for the same month (each a revision)
and prints p50/p95 of the whole submit_file call and the share of each stage.
The figures are also written as JSON (default COP_HOME/outputs/verdict_latency.json).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--history-months", type=int, default=12)
    parser.add_argument("--month", default="2025-06")
    parser.add_argument("--home", type=Path, default=None, help="COP_HOME to use (default: a new temporary one)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    os.environ["COP_HOME"] = str(args.home or tempfile.mkdtemp(prefix="cop-measure-"))
    os.environ.pop("COP_DATABASE_URL", None)

    from cop import db
    from cop.paths import state_dir
    from cop.period import add_months, parse_period
    from loaders.intake import submit_file
    from loaders.sample import encode_return, sample_return

    try:
        month = parse_period(args.month)
        received = dt.datetime.combine(add_months(month, 1), dt.time(9), dt.timezone.utc)
        print(f"COP_HOME={os.environ['COP_HOME']}; loading {args.history_months} months of Punjab history ...",
              file=sys.stderr)
        for back in range(args.history_months, 0, -1):
            past = add_months(month, -back)
            submit_file(encode_return(sample_return("PB", past), "PB"), "history.xlsx", "PB", past, "measure",
                        received_at=dt.datetime.combine(add_months(past, 1), dt.time(9), dt.timezone.utc))
        files = [encode_return(sample_return("PB", month, seed=seed), "PB") for seed in range(args.runs + 2)]
        units = len(sample_return("PB", month))
        for content in files[:2]:  # warm-up: imports, GX context, suites, connections, caches
            submit_file(content, "warmup.xlsx", "PB", month, "measure", received_at=received)

        walls, stages = [], {}
        for content in files[2:]:
            started = time.perf_counter()
            receipt = submit_file(content, "punjab.xlsx", "PB", month, "measure", received_at=received)
            walls.append(time.perf_counter() - started)
            assert receipt.status == "accepted", receipt.summary
            for stage, seconds in receipt.timings.items():
                stages.setdefault(stage, []).append(seconds)
        figures = _figures(walls, stages, units, len(files[2]))
        _print(figures)
        out = args.out or state_dir("outputs") / "verdict_latency.json"
        out.write_text(json.dumps(figures, indent=2))
        print(f"figures written to {out}", file=sys.stderr)
    finally:
        db.stop()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _figures(walls: list[float], stages: dict[str, list[float]], units: int, size: int) -> dict:
    total = sum(statistics.mean(v) for v in stages.values())
    return {
        "file": {"province": "PB", "format": "xlsx", "units": units, "bytes": size},
        "runs": len(walls),
        "verdict_seconds": {"p50": round(_percentile(walls, 0.5), 3), "p95": round(_percentile(walls, 0.95), 3),
                            "min": round(min(walls), 3), "max": round(max(walls), 3)},
        "stages_ms_mean": {k: round(statistics.mean(v) * 1000, 1) for k, v in stages.items()},
        "stages_share": {k: f"{statistics.mean(v) / total:.0%}" for k, v in stages.items()},
    }


def _print(figures: dict) -> None:
    verdict = figures["verdict_seconds"]
    print(f"verdict for a {figures['file']['units']}-unit Punjab XLSX ({figures['file']['bytes']:,} bytes), "
          f"{figures['runs']} runs: p50 {verdict['p50']:.3f}s  p95 {verdict['p95']:.3f}s  "
          f"(min {verdict['min']:.3f}s, max {verdict['max']:.3f}s)")
    for stage, ms in figures["stages_ms_mean"].items():
        print(f"  {stage:<8} {ms:8.1f} ms  {figures['stages_share'][stage]:>4}")


if __name__ == "__main__":
    main()
