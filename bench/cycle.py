"""The monthly cycle: a month's files dropped in the provinces' inboxes, taken in, and the warehouse
rebuilt (dbt build, rankings, docs).

Through Airflow: cop_monthly_returns then cop_warehouse_build, each with `dag.test()` in its own
process (hub.airflow_local.dag_test; SQLite metadata), for the samples' last month.

Baseline, the month before: the same hub.orchestration functions the DAG tasks call, in the same
order, called directly in this process. The ratio is what Airflow adds (its start-up, parsing the
DAGs, task bookkeeping).
"""
from __future__ import annotations

from bench.common import Samples, console, ratio, stopwatch
from hub import airflow_local
from hub import inbox
from hub import orchestration

DIRECT_DAG_ID = "bench_direct_cycle"


def measure_cycle(samples: Samples) -> dict:
    direct_month, airflow_month = samples.periods[-2:]
    direct = _direct_cycle(samples, direct_month)
    console.print(f"  directly: {direct['seconds']:.1f} s for {direct_month}")
    airflow = _airflow_cycle(samples, airflow_month)
    console.print(f"  through Airflow: {airflow['seconds']:.1f} s for {airflow_month}")
    return {"airflow": airflow, "direct": direct, "airflow_vs_direct": ratio(airflow["seconds"], direct["seconds"])}


def _direct_cycle(samples: Samples, period: str) -> dict:
    dropped = inbox.drop_generated(samples.folder, {period})
    provinces = orchestration.selected_provinces()
    with stopwatch() as intake:
        for province in provinces:
            orchestration.intake_province(province, DIRECT_DAG_ID, period)
        orchestration.summarise_monthly_run(DIRECT_DAG_ID, period, provinces)
    with stopwatch() as warehouse:
        orchestration.build_warehouse()
        orchestration.refresh_rankings()
        orchestration.generate_warehouse_docs()
    return {"month": period, "files": len(dropped), "intake_seconds": round(intake.seconds, 1),
            "warehouse_seconds": round(warehouse.seconds, 1), "seconds": round(intake.seconds + warehouse.seconds, 1)}


def _airflow_cycle(samples: Samples, period: str) -> dict:
    dropped = inbox.drop_generated(samples.folder, {period})
    airflow_local.migrate_metadata("sqlite")  # once per home; not part of a monthly cycle
    monthly = airflow_local.dag_test(orchestration.MONTHLY_DAG_ID, metadata="sqlite")
    warehouse = airflow_local.dag_test("cop_warehouse_build", metadata="sqlite")
    for run in (monthly, warehouse):
        if run["state"] != "success":
            raise RuntimeError(f"{run['dag_id']} ended {run['state']}; log: {run['log']}")
    return {"month": period, "files": len(dropped), "intake_seconds": monthly["seconds"],
            "warehouse_seconds": warehouse["seconds"], "seconds": round(monthly["seconds"] + warehouse["seconds"], 1)}
