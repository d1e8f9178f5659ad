"""cop_backup: a nightly backup of the warehouse with its landing zone, keeping the newest N.

Thin wiring only: the task calls hub.orchestration.backup_warehouse.
"""
from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from hub.dag_defaults import pakistan_cron, task_defaults

DOC = """
### Backup

Every night at 01:30 Pakistan time: `pg_dump` of the warehouse database with the landing zone's
files (the exact bytes of every return received) and the validation reports, into
`COP_BACKUP_DIR` (default `COP_HOME/backups/`; in production a volume on other storage), then all
but the newest `keep` backups are deleted. `cop db restore <folder>` puts one back (then
`cop build --full-refresh`); the restore drill test proves that the marts and the report come back.
"""


@dag(
    dag_id="cop_backup",
    schedule=pakistan_cron("30 1 * * *"),
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults(retries=2),
    params={"keep": Param(14, type="integer", minimum=1, description="How many backups to keep.")},
    tags=["cop", "operations"],
    doc_md=DOC,
)
def cop_backup():
    @task
    def backup() -> dict:
        from hub.orchestration import backup_warehouse

        return backup_warehouse(keep=int(get_current_context()["params"]["keep"]))

    backup()


cop_backup()
