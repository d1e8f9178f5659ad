"""cop_annual_report: the annual report with rankings, yearly and on demand for any year.

Thin wiring only: the tasks call hub.orchestration.create_release, then write_annual_report from it and
write_scorecards for its year.
"""
from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from hub.dag_defaults import pakistan_cron, task_defaults

DOC = """
### Annual report

Runs on 1 February (Pakistan time), once December's returns are due everywhere, for the year just
ended; trigger it with `year` for any other year. It first creates a release of the year (the figures
frozen at that moment: `cop release list`), then writes the report (HTML and PDF) and the rankings from
that release alone, under `COP_HOME/reports/release-<label>/`. A later revision goes to the next release.
Beside it, every station's scorecard of the year (one page each; a PDF pack per province) under
`COP_HOME/reports/scorecards/<year>/<PROVINCE>/`, written from the marts the release has just frozen; the
portal serves each province its own stations' scorecards.
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
    def create_release() -> dict:
        from hub.orchestration import create_release as create

        context = get_current_context()
        return create(context["params"]["year"], context["dag_run"].run_after)

    @task
    def annual_report(release: dict) -> dict:
        from hub.orchestration import write_annual_report

        return write_annual_report(release["release_id"])

    @task
    def station_scorecards(release: dict) -> dict:
        from hub.orchestration import write_scorecards

        return write_scorecards(release["year"])

    release = create_release()
    annual_report(release)
    station_scorecards(release)


cop_annual_report()
