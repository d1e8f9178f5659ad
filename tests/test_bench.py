"""`cop-bench` runs end to end on a small sample (two years) and writes every figure it promises."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bench")]


def test_bench_writes_every_figure_with_its_baseline(tmp_path):
    out = tmp_path / "bench"
    env = {k: v for k, v in os.environ.items() if k not in ("COP_DATABASE_URL", "COP_HOME")}
    result = subprocess.run([sys.executable, "-m", "bench.cli", "--years", "2", "--verdict-runs", "3",
                             "--cold-runs", "1", "--out", str(out)], env=env, capture_output=True, text=True,
                            timeout=1500)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads((out / "results.json").read_text())

    loader = figures["loader"]
    assert loader["rows"] == loader["unit_rows"] + loader["value_rows"] > 10_000
    for method in ("project_copy", "psql_copy", "pandas_to_sql_multi"):
        assert loader[method]["rows_per_second"] > 0
    assert loader["project_vs_psql_copy"] > 0 and loader["project_vs_pandas"] > 0

    verdict = figures["verdict"]
    assert verdict["runs"] == 3 and verdict["units_median"] > 650
    assert 0 < verdict["seconds"]["p50"] <= verdict["seconds"]["p95"]
    assert {"read", "gx", "rules", "load"} <= set(verdict["stages_share"])
    assert verdict["baseline_naive_script_seconds"] > 0 and verdict["p95_vs_naive_script"] > 0
    cold = verdict["cold"]
    assert cold["runs"] == 1 and cold["cli_seconds"] > 0 and cold["import_gx_seconds"] > 0
    assert {"startup", "sandbox", "gx"} <= set(cold["stages_share"])

    load = figures["portal_load"]
    assert load["uploads"] >= 14 and load["http_errors"] == 0 and load["verdicts_identical"] is True
    assert load["concurrent"]["verdicts_per_second"] > 0 and load["concurrent_vs_serial"] > 0

    backfill = figures["backfill"]
    assert backfill["statuses"]["accepted"] > 0 and backfill["files"] == sum(backfill["statuses"].values())
    assert backfill["months"] == 22 and backfill["files_per_second"] > 0

    assert [g["history_months"] for g in figures["growth"]] == [12, 21]
    for growth in figures["growth"]:
        assert growth["incremental_seconds"] > 0 and growth["full_refresh_seconds"] > 0

    cycle = figures["monthly_cycle"]
    assert cycle["airflow"]["files"] == cycle["direct"]["files"] == 7
    assert cycle["airflow_vs_direct"] > 0

    table = (out / "results.md").read_text()
    assert "psql \\copy" in table and "Monthly cycle through Airflow" in table
    assert "What dominates the warm verdict" in table and "What dominates the cold verdict" in table
    assert "| figure | measured | baseline (same run) | ratio |" in result.stdout
    assert (out / "growth.png").read_bytes().startswith(b"\x89PNG")
