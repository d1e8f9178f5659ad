"""A running local Airflow (`cop airflow`) rides out a restart of the embedded database: the scheduler
dies when its database goes away, `cop airflow` restarts it once the database answers again (same
port, same URL), and the next DAG run succeeds without anyone restarting Airflow.

Slow (a real Airflow: api-server, scheduler, dag-processor, triggerer, two runs of cop_backup)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import psycopg
import pytest

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(bool(os.environ.get("COP_DATABASE_URL")), reason="restarts the embedded server")]
DAG_ID = "cop_backup"   # one light task that needs the warehouse database too


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(what: str, check, timeout: float = 420) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(3)
    raise AssertionError(f"timed out waiting for {what}")


class LocalAirflow:
    def __init__(self, home) -> None:
        self.env = {k: v for k, v in os.environ.items() if k not in ("COP_DATABASE_URL",)
                    and not k.startswith("AIRFLOW")}
        self.env["COP_HOME"] = str(home)
        # Log servers on free ports: another Airflow on this machine may hold the defaults (8793, 8794).
        self.env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(_free_port())
        self.env["AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT"] = str(_free_port())

    def cop(self, *args: str) -> str:
        return subprocess.run([sys.executable, "-m", "hub.cli", *args], env=self.env, check=True,
                              capture_output=True, text=True, timeout=300).stdout

    def airflow_env(self) -> dict[str, str]:
        code = "import json; from hub.airflow_local import _child_env; print(json.dumps(_child_env('postgres')))"
        output = subprocess.run([sys.executable, "-c", code], env=self.env, check=True, capture_output=True,
                                text=True, timeout=300).stdout
        return json.loads(output.strip().splitlines()[-1])

    def metadata_url(self) -> str:
        return self.cop("db", "url", "--show-password").strip().rsplit("/", 1)[0] + "/airflow"

    def query(self, statement: str, params=()) -> list:
        try:
            with psycopg.connect(self.metadata_url(), connect_timeout=5) as conn:
                return conn.execute(statement, params).fetchall()
        except psycopg.Error:   # down, or Airflow's tables not created yet
            return []

    def trigger(self, run_id: str, env: dict[str, str]) -> None:
        subprocess.run([str(os.path.join(os.path.dirname(sys.executable), "airflow")), "dags", "trigger", DAG_ID,
                        "--run-id", run_id], env=env, check=True, capture_output=True, timeout=300)

    def run_state(self, run_id: str) -> str | None:
        rows = self.query("select state from dag_run where dag_id = %s and run_id = %s", (DAG_ID, run_id))
        return rows[0][0] if rows else None


def test_a_running_airflow_rides_out_a_database_restart(tmp_path):
    local = LocalAirflow(tmp_path / "home")
    local.cop("db", "start")
    url_before = local.metadata_url()
    airflow_env = local.airflow_env()
    process = subprocess.Popen([sys.executable, "-m", "hub.cli", "airflow", "--port", str(_free_port())],
                               env=local.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for("the DAGs parsed and active", lambda: local.query(
            "select 1 from dag where dag_id = %s and not is_paused", (DAG_ID,)))
        local.trigger("before_restart", airflow_env)
        _wait_for("the first run", lambda: local.run_state("before_restart") in ("success", "failed"))
        assert local.run_state("before_restart") == "success"

        local.cop("db", "stop")
        time.sleep(20)   # the scheduler and its neighbours lose their database meanwhile
        local.cop("db", "start")
        assert local.metadata_url() == url_before, "the database came back on its own port"

        local.trigger("after_restart", airflow_env)
        _wait_for("the run after the restart", lambda: local.run_state("after_restart") in ("success", "failed"))
        assert local.run_state("after_restart") == "success"
        assert process.poll() is None, "Airflow kept running: nobody restarted it"
    finally:
        process.terminate()
        output = process.communicate(timeout=120)[0]
        subprocess.run([sys.executable, "-m", "hub.cli", "db", "stop"], env=local.env, capture_output=True)
    assert "restarted" in output, output[-3000:]
