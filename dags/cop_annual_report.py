"""cop_annual_report: the annual report with rankings, yearly and on demand for any year.

Thin wiring only: the task calls cop.orchestration.write_annual_report.
"""
from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from cop.dag_defaults import pakistan_cron, task_defaults

DOC = """
### Annual report

Runs on 1 February (Pakistan time), once December's returns are due everywhere, for the year just
ended; trigger it with `year` for any other year. The report (HTML and PDF) and the rankings are
written under `COP_HOME/reports/`.
"""


@dag(
    dag_id="cop_annual_report",
    schedule=pakistan_cron("0 8 1 2 *"),
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults(retries=2),
    params={"year": Param(None, type=["null", "integer"], minimum=2015, maximum=2100,
                          description="Report year; empty: the year before the run.")},
    tags=["cop", "report"],
    doc_md=DOC,
)
def cop_annual_report():
    @task
    def annual_report() -> dict:
        from cop.orchestration import write_annual_report

        context = get_current_context()
        return write_annual_report(context["params"]["year"], context["dag_run"].run_after)

    annual_report()


cop_annual_report()
