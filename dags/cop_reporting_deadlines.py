"""cop_reporting_deadlines: once a month's due date has passed, who has not reported or was rejected.

Thin wiring only: the task calls hub.orchestration.reporting_deadlines.
"""
from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from hub.dag_defaults import pakistan_cron, task_defaults

DOC = """
### Reporting deadlines

Every morning (Pakistan time), for each province, the latest month whose due date (its amendment's
`due_day` of the following month) is over: no return, only rejected files, or units missing from the
accepted return. Writes `COP_HOME/reminders/<date>/reminders.html|md|json` and, when SMTP is
configured (`COP_SMTP_URL`, `COP_MAIL_FROM`, `COP_REMINDER_TO`), mails each outstanding province on
the first day after its due date and weekly after that (`force_mail` mails every outstanding one now).
"""


@dag(
    dag_id="cop_reporting_deadlines",
    schedule=pakistan_cron("0 7 * * *"),
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults(),
    params={
        "as_of": Param(None, type=["null", "string"], format="date",
                       description="Check as of this day (YYYY-MM-DD); empty: the run's day in Pakistan."),
        "force_mail": Param(False, type="boolean", description="Mail every outstanding province now."),
    },
    tags=["cop", "deadlines"],
    doc_md=DOC,
)
def cop_reporting_deadlines():
    @task
    def remind() -> dict:
        from hub.orchestration import reporting_deadlines

        context = get_current_context()
        params = context["params"]
        return reporting_deadlines(params["as_of"], context["dag_run"].run_after, bool(params["force_mail"]))

    remind()


cop_reporting_deadlines()
