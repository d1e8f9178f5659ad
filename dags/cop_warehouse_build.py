"""cop_warehouse_build: rebuild the warehouse whenever the monthly cycle changed raw data.

Thin wiring only: every task calls one function of hub.orchestration.
"""
from __future__ import annotations

import pendulum
from airflow.sdk import Asset, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from hub.dag_defaults import task_defaults
from hub.orchestration import RAW_RETURNS_ASSET

DOC = """
### Warehouse build

Runs when the `cop_raw_returns` asset is updated (a return was accepted), or on demand.
`dbt build` runs staging, intermediate and marts with every test in one task (dbt orders the
models itself; one Airflow task per model would only add minutes of overhead). Then the unit
scores and rankings of the latest complete year are refreshed (skipped, with the reason, while no
calendar year is complete) and the dbt docs regenerated. The monthly bulletin of the latest month whose
returns are final (every province approved or past its lock date, or still missing after the next month's
due date) is written to `COP_HOME/reports/bulletins/` (skipped while no month is final), and mailed the
first time when SMTP is configured (COP_SMTP_URL, COP_MAIL_FROM, COP_REMINDER_TO[_<PROVINCE>]). `full_refresh` rebuilds the
incremental facts from raw (the numbers must not change).

**Review**: the run's **Review** tab says what dbt built, tested and skipped (and why), and the
rankings' outcome or the reason they were skipped.
"""


@dag(
    dag_id="cop_warehouse_build",
    schedule=[Asset(RAW_RETURNS_ASSET)],
    start_date=pendulum.datetime(2025, 1, 1, tz="Asia/Karachi"),
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults(retries=2),
    params={"full_refresh": Param(False, type="boolean", description="Rebuild incremental models from raw.")},
    tags=["cop", "warehouse"],
    doc_md=DOC,
)
def cop_warehouse_build():
    @task
    def dbt_build() -> dict:
        from hub.orchestration import build_warehouse

        context = get_current_context()
        return build_warehouse(full_refresh=bool(context["params"]["full_refresh"]), dag_id=context["ti"].dag_id,
                               run_id=context["ti"].run_id)

    @task
    def refresh_rankings() -> dict:
        from hub.orchestration import refresh_rankings as refresh

        ti = get_current_context()["ti"]
        result = refresh(ti.dag_id, ti.run_id)
        if "skipped" in result:
            raise AirflowSkipException(result["skipped"])
        return result

    @task
    def dbt_docs() -> str:
        from hub.orchestration import generate_warehouse_docs

        ti = get_current_context()["ti"]
        return generate_warehouse_docs(ti.dag_id, ti.run_id)

    @task
    def monthly_bulletin() -> dict:
        from hub.orchestration import monthly_bulletin as write

        ti = get_current_context()["ti"]
        result = write(ti.dag_id, ti.run_id)
        if "skipped" in result:
            raise AirflowSkipException(result["skipped"])
        return result

    built = dbt_build()
    built >> refresh_rankings()
    built >> dbt_docs()
    built >> monthly_bulletin()


cop_warehouse_build()
