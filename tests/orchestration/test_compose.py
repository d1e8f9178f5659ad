"""docker-compose.yml describes production (no Docker engine on this machine: it is checked by parsing)."""
from __future__ import annotations

import re

import pytest
import yaml

from cop.paths import REPO_ROOT

AIRFLOW_COMMANDS = {
    "airflow-apiserver": ["airflow", "api-server"],
    "airflow-scheduler": ["airflow", "scheduler"],
    "airflow-dag-processor": ["airflow", "dag-processor"],
    "airflow-worker": ["airflow", "celery", "worker"],
    "airflow-triggerer": ["airflow", "triggerer"],
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def test_every_service_is_there(services):
    expected = {*AIRFLOW_COMMANDS, "airflow-init", "postgres", "warehouse-db", "redis", "portal", "flower"}
    assert expected <= set(services)


@pytest.mark.parametrize("name,command", sorted(AIRFLOW_COMMANDS.items()))
def test_airflow_components_run_their_command_with_shared_settings(services, name, command):
    service = services[name]
    assert service["command"] == command
    env = service["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://") and "@redis:6379" in env["AIRFLOW__CELERY__BROKER_URL"]
    assert "@postgres/airflow" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert "@warehouse-db:5432/" in env["COP_DATABASE_URL_COP_LOADER"], "the warehouse is a separate PostgreSQL"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/cop/dags"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert env["COP_HOME"] == "/var/lib/cop"
    assert "healthcheck" in service and service["healthcheck"]["test"]
    assert service["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    for backing in ("postgres", "redis", "warehouse-db"):
        assert service["depends_on"][backing]["condition"] == "service_healthy"
    assert any(v.endswith(":/var/lib/cop/inbox") for v in service["volumes"]), "the landing zone is mounted"


def test_one_jwt_secret_and_one_fernet_key_for_all_components(services):
    secrets = {services[name]["environment"]["AIRFLOW__API_AUTH__JWT_SECRET"] for name in AIRFLOW_COMMANDS}
    assert secrets == {"${AIRFLOW_JWT_SECRET:?set AIRFLOW_JWT_SECRET in .env}"}
    keys = {services[name]["environment"]["AIRFLOW__CORE__FERNET_KEY"] for name in AIRFLOW_COMMANDS}
    assert len(keys) == 1


def test_workers_can_be_scaled(services):
    worker = services["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker, "--scale needs unnamed, portless workers"
    assert "celery" in " ".join(worker["healthcheck"]["test"]) and "inspect ping" in " ".join(worker["healthcheck"]["test"])


def test_backing_services_have_health_checks(services):
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert "pg_isready" in services["warehouse-db"]["healthcheck"]["test"]
    assert "ping" in services["redis"]["healthcheck"]["test"]
    assert services["postgres"]["environment"]["POSTGRES_DB"] == "airflow"
    assert services["warehouse-db"]["environment"]["POSTGRES_DB"] == "cop"


def test_init_prepares_both_databases_and_the_landing_zone(services):
    script = services["airflow-init"]["command"][-1]
    for step in ("airflow db migrate", "cop db start", "/var/lib/cop/inbox"):
        assert step in script


def test_portal_serves_the_same_library(services):
    portal = services["portal"]
    assert portal["command"][:2] == ["cop", "serve"]
    assert "@warehouse-db:5432/" in portal["environment"]["COP_DATABASE_URL_COP_PORTAL"]
    assert portal["healthcheck"]["test"]


def test_every_service_image_is_built_from_the_lock_file(compose, services):
    python_services = [n for n, s in services.items() if "build" in s]
    assert set(AIRFLOW_COMMANDS) | {"airflow-init", "portal"} <= set(python_services)
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert "-r requirements.lock" in dockerfile and "--no-deps" in dockerfile


def test_env_example_names_every_variable_compose_needs():
    text = (REPO_ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", text))
    declared = {line.split("=", 1)[0] for line in (REPO_ROOT / ".env.example").read_text().splitlines()
                if line and not line.startswith("#")}
    assert used - declared == set()


def test_services_connect_as_their_own_roles_and_only_init_as_the_superuser(services):
    """Least privilege: the portal as the intake and portal roles, Airflow as the intake and transform
    roles; the superuser's URL (COP_DATABASE_URL) is airflow-init's alone, for the migrations."""
    def roles(name: str) -> set[str]:
        return {key.removeprefix("COP_DATABASE_URL_").lower() for key in services[name]["environment"]
                if key.startswith("COP_DATABASE_URL_")}

    assert roles("portal") == {"cop_loader", "cop_portal"}
    for name in AIRFLOW_COMMANDS:
        assert roles(name) == {"cop_loader", "cop_transform"}, name
        assert "COP_DATABASE_URL" not in services[name]["environment"], name
    assert "COP_DATABASE_URL" not in services["portal"]["environment"]
    assert services["airflow-init"]["environment"]["COP_DATABASE_URL"].startswith("postgresql://cop:")
    for name in ("portal", *AIRFLOW_COMMANDS):
        for key, url in services[name]["environment"].items():
            if key.startswith("COP_DATABASE_URL_"):
                assert url.startswith(f"postgresql://{key.removeprefix('COP_DATABASE_URL_').lower()}:"), key
