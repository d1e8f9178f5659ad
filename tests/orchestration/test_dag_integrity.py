"""DAG integrity: dags/ parses like the dag-processor parses it, with no import error and no database
access, and every DAG declares what operations rely on (retries, catchup, schedule, asset wiring).

Airflow reads its configuration when first imported, so the DAGs are parsed in a child process with
its own AIRFLOW_HOME; the test process never imports Airflow."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hub.airflow_local import _RESULT

EXPECTED_DAGS = {"cop_monthly_returns", "cop_warehouse_build", "cop_reporting_deadlines", "cop_annual_report",
                 "cop_backup"}


class ConnectionTrap:
    """A TCP listener on 127.0.0.1 that counts the connections made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def parsed(tmp_path_factory):
    """Parse dags/ with the warehouse URL pointing at a trap and a fresh, empty COP_HOME."""
    home = tmp_path_factory.mktemp("dag_parse_home")
    trap = ConnectionTrap()
    env = {**os.environ, "COP_HOME": str(home), "AIRFLOW_HOME": str(home / "airflow"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "COP_DATABASE_URL": f"postgresql://nobody:nothing@127.0.0.1:{trap.port}/cop?connect_timeout=2"}
    env.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", None)
    try:
        result = subprocess.run([sys.executable, "-m", "hub.airflow_local", "--describe"], env=env,
                                capture_output=True, text=True, timeout=300)
    finally:
        trap.close()
    line = next((l for l in result.stdout.splitlines() if l.startswith(_RESULT)), None)
    assert line, f"DAG parsing did not finish: {result.stderr[-3000:]}"
    report = json.loads(line[len(_RESULT):])
    report["trap_connections"] = trap.connections
    report["home"] = home
    return report


def test_every_dag_imports_without_errors(parsed):
    assert parsed["import_errors"] == {}
    assert set(parsed["dags"]) == EXPECTED_DAGS


def test_one_dag_per_file_named_after_it(parsed):
    for dag_id, dag in parsed["dags"].items():
        assert dag["file"] == f"{dag_id}.py"


def test_parsing_touches_no_database(parsed):
    assert parsed["trap_connections"] == 0, "a DAG file connected to the warehouse at parse time"
    assert not (parsed["home"] / "pg" / "data").exists(), "a DAG file started the embedded PostgreSQL"
    assert not list((parsed["home"]).glob("inbox/*")), "a DAG file created inbox folders at parse time"


def test_no_catchup_and_one_run_at_a_time(parsed):
    for dag in parsed["dags"].values():
        assert dag["catchup"] is False
        assert dag["max_active_runs"] == 1
        assert dag["doc_md"]


def test_work_tasks_retry_with_backoff(parsed):
    bookkeeping = {"summarise", "announce_raw_changes"}   # read files only; a retry cannot help them
    for dag in parsed["dags"].values():
        for task_id, task in dag["tasks"].items():
            if task_id in bookkeeping:
                continue
            assert task["retries"] >= 2, task_id
            assert task["exponential_backoff"] > 1, task_id
            assert task["retry_policy"] == "ExceptionRetryPolicy", task_id


def test_monthly_cycle_wiring(parsed):
    monthly = parsed["dags"]["cop_monthly_returns"]["tasks"]
    assert monthly["intake"]["mapped"], "one mapped task per province"
    assert monthly["summarise"]["trigger_rule"] == "all_done", "the summary is written even when a province fails"
    assert monthly["announce_raw_changes"]["outlets"] == ["cop_raw_returns"]
    warehouse = parsed["dags"]["cop_warehouse_build"]
    assert warehouse["timetable"] == "AssetTriggeredTimetable"
    assert "cop_raw_returns" in warehouse["schedule"]
    assert set(warehouse["tasks"]) == {"dbt_build", "refresh_rankings", "dbt_docs", "monthly_bulletin"}
    assert parsed["dags"]["cop_annual_report"]["params"] == ["year"]
    assert "0 8 1 2 *" in parsed["dags"]["cop_annual_report"]["schedule"]


def test_nightly_backup_keeps_a_bounded_number(parsed):
    backup = parsed["dags"]["cop_backup"]
    assert "30 1 * * *" in backup["schedule"]
    assert backup["params"] == ["keep"]


def test_cron_dags_make_no_run_for_a_time_already_past(parsed):
    """Switched on (first start or unpause), a cron DAG waits for its next cron point: no surprise run."""
    for dag_id in ("cop_monthly_returns", "cop_reporting_deadlines", "cop_annual_report", "cop_backup"):
        dag = parsed["dags"][dag_id]
        assert dag["timetable"] == "CronTriggerTimetable", dag_id
        assert dag["run_immediately"] is False and dag["start_date"] is None, dag_id


def test_only_the_annual_dag_makes_a_release_and_reports_from_it(parsed):
    assert set(parsed["dags"]["cop_annual_report"]["tasks"]) == {"create_release", "annual_report", "station_scorecards"}
    dags = Path(__file__).parents[2] / "dags"
    for path in dags.glob("*.py"):
        if path.name != "cop_annual_report.py":
            assert "release" not in path.read_text(encoding="utf-8"), path.name
