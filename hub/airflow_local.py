"""Airflow on this machine, against this COP_HOME: the local UI (`cop airflow`) and `dag.test()` runs.

Airflow reads its configuration when it is first imported, so everything here prepares an
environment and runs Airflow in a child process with it; this module never imports Airflow.

AIRFLOW_HOME is COP_HOME/airflow, the DAGs come from the repository's dags/ and the review pages
from plugins/. The metadata database is an `airflow` database on the same embedded PostgreSQL
server as the warehouse (a separate database, so Airflow's tables never mix with the warehouse's):
with it `airflow standalone` runs the LocalExecutor with real parallelism, where SQLite would
serialise every write. With COP_DATABASE_URL set (an external warehouse), or with
metadata="sqlite", a SQLite file in AIRFLOW_HOME is used instead. An AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
already in the environment always wins.
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from cop.paths import REPO_ROOT, cop_home, state_dir

DAGS_FOLDER = REPO_ROOT / "dags"
PLUGINS_FOLDER = REPO_ROOT / "plugins"
ADMIN_USER = "admin"
METADATA_DATABASE = "airflow"
LOG_SERVER_PORTS = (8793, 8794)   # the worker's and the triggerer's log servers (Airflow defaults)


def _airflow_bin() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def _secret(home: Path, name: str) -> str:
    path = home / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def admin_password(home: Path | None = None) -> str:
    """The local UI's admin password (generated once per COP_HOME, kept in AIRFLOW_HOME)."""
    home = home or state_dir("airflow")
    passwords = home / "simple_auth_manager_passwords.json"
    if not passwords.exists():
        passwords.write_text(json.dumps({ADMIN_USER: secrets.token_urlsafe(12)}))
        passwords.chmod(0o600)
    return json.loads(passwords.read_text())[ADMIN_USER]


def _postgres_metadata_urls() -> tuple[str, str]:
    """(sync, async) SQLAlchemy URLs of the `airflow` database on the embedded server, created if needed."""
    import psycopg

    from cop import db

    db.start()
    server = db.EmbeddedServer()
    with psycopg.connect(server.url(database="postgres"), autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (METADATA_DATABASE,)).fetchone():
            conn.execute(f'create database "{METADATA_DATABASE}"')
    parts = urlsplit(server.url(database=METADATA_DATABASE))
    return (urlunsplit(parts._replace(scheme="postgresql+psycopg2")),
            urlunsplit(parts._replace(scheme="postgresql+psycopg")))


def airflow_environment(metadata: str = "postgres") -> dict[str, str]:
    """The environment Airflow runs with for this COP_HOME (added to os.environ by the caller)."""
    home = state_dir("airflow")
    env = {
        "COP_HOME": str(cop_home()),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # The local UI is for trying the pipeline: the DAGs run when triggered, without first finding
        # the unpause switch (production, docker-compose.yml, keeps new DAGs paused). No DAG catches up.
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__SCHEDULER__CATCHUP_BY_DEFAULT": "False",
        "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "simple_auth_manager_passwords.json"),
        "AIRFLOW__API_AUTH__JWT_SECRET": _secret(home, ".jwt_secret"),
        "AIRFLOW__API__SECRET_KEY": _secret(home, ".api_secret"),
        "AIRFLOW__CORE__FERNET_KEY": os.environ.get("AIRFLOW__CORE__FERNET_KEY", ""),
        # Local runs share a small machine; production scales with Celery workers instead.
        "AIRFLOW__CORE__PARALLELISM": os.environ.get("AIRFLOW__CORE__PARALLELISM", str(max(2, os.cpu_count() or 2))),
        # A small shared machine answers the execution API slowly at times: a task waits rather than failing.
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": os.environ.get("AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT", "60"),
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "60",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "60",
    }
    admin_password(home)
    if os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):
        return env
    if metadata == "postgres" and not os.environ.get("COP_DATABASE_URL"):
        sync_url, async_url = _postgres_metadata_urls()
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = sync_url
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = async_url
    else:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home / 'airflow.db'}"
    return env


def _child_env(metadata: str) -> dict[str, str]:
    # `airflow standalone` starts its components as `airflow ...` from PATH: put this venv's first.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, **airflow_environment(metadata), "PATH": path}


def migrate_metadata(metadata: str = "postgres") -> None:
    """`airflow db migrate` (idempotent; quick once the schema is current)."""
    env = _child_env(metadata)
    stamp = Path(env["AIRFLOW_HOME"]) / f".migrated-{metadata}"
    version = _airflow_version()
    if stamp.exists() and stamp.read_text() == version:
        return
    subprocess.run([_airflow_bin(), "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    stamp.write_text(version)


def _airflow_version() -> str:
    from importlib.metadata import version

    return version("apache-airflow-core")


COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")
RESTART_DELAY_SECONDS = 5


def run_standalone(port: int = 8080, metadata: str = "postgres", stop: "threading.Event | None" = None) -> int:
    """Airflow's components (as `airflow standalone` starts them) with the DAGs against this COP_HOME,
    supervised: a component that exits (the scheduler does when its database goes away, e.g. during a
    `cop db stop` / `cop db start`) is restarted once the database answers again, with a line saying
    so. Prints the URL and the login first; Ctrl-C (or `stop`) ends every component."""
    import threading

    if port in LOG_SERVER_PORTS:
        raise ValueError(f"port {port} is taken by Airflow's own log servers ({LOG_SERVER_PORTS}); choose another")
    env = _child_env(metadata)
    env["AIRFLOW__API__PORT"] = str(port)
    env["AIRFLOW__API__BASE_URL"] = f"http://localhost:{port}"
    env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"http://localhost:{port}/execution/"
    from hub.inbox import ensure_inboxes
    from cop.registry import load_registry

    ensure_inboxes(load_registry().province_codes)
    logs = state_dir("airflow") / "component-logs"
    logs.mkdir(exist_ok=True)
    print(f"Airflow UI:  http://localhost:{port}\nlogin:       {ADMIN_USER} / {admin_password()}\n"
          f"COP_HOME:    {cop_home()}\ninboxes:     {state_dir('inbox')}/<PROVINCE>/\n"
          f"metadata db: {env['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN'].split('@')[-1]}\n"
          f"logs:        {logs}/<component>.log\n"
          "DAGs:        active from the start (not paused), no catch-up runs: cop_monthly_returns runs daily at\n"
          "             18:00 PKT and on 'Trigger'; cop_warehouse_build when a file was accepted\n"
          "Ctrl-C stops Airflow.", flush=True)
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        import signal

        signal.signal(signal.SIGTERM, lambda *_: stop.set())  # a terminated `cop airflow` ends its components
    processes = {name: _start_component(name, env, logs) for name in COMPONENTS}
    try:
        while not stop.wait(1):
            for name, process in processes.items():
                if process.poll() is not None:
                    processes[name] = _restart_component(name, process.returncode, env, logs, stop)
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes.values():
            if process is not None and process.poll() is None:
                process.terminate()
        for process in processes.values():
            if process is not None:
                process.wait()
    return 0


def _start_component(name: str, env: dict[str, str], logs: Path) -> subprocess.Popen:
    with (logs / f"{name}.log").open("ab") as log:
        return subprocess.Popen([_airflow_bin(), name], env=env, stdout=log, stderr=subprocess.STDOUT)


def _restart_component(name: str, code: int, env: dict[str, str], logs: Path, stop) -> subprocess.Popen | None:
    """Wait until the metadata database answers, then start the component again."""
    print(f"airflow {name} exited (code {code}; see {logs / (name + '.log')}); restarting it once the "
          "database answers", flush=True)
    while not _metadata_reachable(env):
        if stop.wait(RESTART_DELAY_SECONDS):
            return None
    print(f"database reachable: airflow {name} restarted", flush=True)
    return _start_component(name, env, logs)


def _metadata_reachable(env: dict[str, str]) -> bool:
    url = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    if url.startswith("sqlite"):
        return True
    import psycopg

    try:
        with psycopg.connect(url.replace("postgresql+psycopg2://", "postgresql://", 1), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


# ---------------------------------------------------------------- dag.test() in a child process


def dag_test(dag_id: str, conf: dict | None = None, metadata: str = "sqlite", timeout: int = 1800) -> dict:
    """Run one DAG through `dag.test()` in a child process; returns its state, task states and seconds."""
    migrate_metadata(metadata)
    env = _child_env(metadata)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "hub.airflow_local", dag_id, json.dumps(conf or {})], env=env,
                            capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - started
    log_path = state_dir("airflow") / "dag-test-logs" / f"{dag_id}.log"
    log_path.parent.mkdir(exist_ok=True)
    log_path.write_text(result.stdout + "\n---- stderr ----\n" + result.stderr)
    marker = next((line for line in reversed(result.stdout.splitlines()) if line.startswith(_RESULT)), None)
    if result.returncode != 0 or marker is None:
        raise RuntimeError(f"dag.test({dag_id}) did not complete (exit {result.returncode}); log: {log_path}\n"
                           f"{result.stderr[-3000:]}")
    outcome = json.loads(marker[len(_RESULT):])
    outcome.update(seconds=round(seconds, 1), log=str(log_path))
    return outcome


_RESULT = "COP-DAG-TEST-RESULT "


def _run_in_child(dag_id: str, conf: dict) -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")
    run = bag.get_dag(dag_id).test(run_conf=conf)
    tasks = {}
    for ti in run.get_task_instances():
        key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        tasks[key] = {"state": getattr(ti.state, "value", ti.state), "rendered_map_index": ti.rendered_map_index}
    print(_RESULT + json.dumps({"dag_id": dag_id, "run_id": run.run_id, "state": getattr(run.state, "value", run.state), "tasks": tasks}),
          flush=True)


def _describe_dags() -> None:
    """Parse dags/ as the dag-processor would and print what each DAG declares (DAG integrity tests)."""
    started = time.perf_counter()
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    seconds = time.perf_counter() - started
    dags = {}
    for dag in bag.dags.values():
        dags[dag.dag_id] = {
            "file": Path(dag.fileloc).name, "catchup": dag.catchup, "timetable": type(dag.timetable).__name__,
            "schedule": getattr(dag.timetable, "_expression", None) or str(dag.timetable.summary
                                                                          if hasattr(dag.timetable, "summary")
                                                                          else dag.timetable),
            "params": sorted(dag.params.keys()), "max_active_runs": dag.max_active_runs,
            "start_date": str(dag.start_date) if dag.start_date else None,
            "run_immediately": getattr(dag.timetable, "run_immediately", None),
            "doc_md": bool(dag.doc_md), "tags": sorted(dag.tags),
            "tasks": {t.task_id: {"retries": t.retries, "trigger_rule": str(getattr(t.trigger_rule, "value",
                                                                                    t.trigger_rule)),
                                  "outlets": [getattr(o, "name", str(o)) for o in t.outlets],
                                  "mapped": "Mapped" in type(t).__name__,
                                  "exponential_backoff": float(t.retry_exponential_backoff or 0),
                                  "retry_policy": type(getattr(t, "retry_policy", None)).__name__}
                      for t in dag.tasks},
        }
    print(_RESULT + json.dumps({"import_errors": bag.import_errors, "dags": dags, "parse_seconds": seconds},
                               default=str), flush=True)


if __name__ == "__main__":  # the child process of dag_test() and of the DAG integrity tests
    if sys.argv[1] == "--describe":
        _describe_dags()
    else:
        _run_in_child(sys.argv[1], json.loads(sys.argv[2]))
