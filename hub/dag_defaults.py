"""Task defaults shared by the DAGs in dags/: retries with exponential backoff for infrastructure errors
(database, disk, network, a province's server down), and no retry for a missing library module, which
only a deployment fixes, nor for a province's source refusing us (hub.fetch.RetryCannotHelp)."""
from __future__ import annotations

import datetime as dt

OWNER = "cop-federal-focal-agency"


def task_defaults(retries: int = 3, first_delay: dt.timedelta = dt.timedelta(minutes=1),
                  max_delay: dt.timedelta = dt.timedelta(minutes=30)) -> dict:
    from airflow.sdk import ExceptionRetryPolicy, RetryAction, RetryRule

    return {
        "owner": OWNER,
        "retries": retries,
        "retry_delay": first_delay,
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": max_delay,
        "retry_policy": ExceptionRetryPolicy(rules=[
            RetryRule(exception="builtins.ImportError", action=RetryAction.FAIL,
                      reason="a library module is missing; retrying cannot help, fix the deployment"),
            RetryRule(exception="hub.fetch.RetryCannotHelp", action=RetryAction.FAIL,
                      reason="the province's source refused us (credentials, permission, configuration); "
                             "retrying cannot help, fix the connection or the sources file"),
        ]),
    }


def pakistan_cron(expression: str):
    """A cron schedule in Pakistan time that starts at the next cron point after the DAG is switched on:
    with no start_date and run_immediately=False, Airflow creates no run for a time already past (no
    surprise run on first start or unpause), and catchup=False keeps it from filling history."""
    from airflow.sdk import CronTriggerTimetable

    return CronTriggerTimetable(expression, timezone="Asia/Karachi", run_immediately=False)
