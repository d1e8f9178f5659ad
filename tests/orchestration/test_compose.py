"""docker-compose.yml describes production (no Docker engine on this machine: it is checked by parsing),
and is safe by default: `unsafe_settings` lists every unsafe setting the file, .env.example, the
Dockerfile or .dockerignore would bring back, and a test puts each one back to see it caught."""
from __future__ import annotations

import copy
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
    expected = {*AIRFLOW_COMMANDS, "airflow-init", "postgres", "warehouse-db", "redis", "portal", "flower", "proxy"}
    assert expected <= set(services)


@pytest.mark.parametrize("name,command", sorted(AIRFLOW_COMMANDS.items()))
def test_airflow_components_run_their_command_with_shared_settings(services, name, command):
    service = services[name]
    assert service["command"][:len(command)] == command
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


def _pins(name: str) -> dict[str, str]:
    return {line.split("==")[0].lower(): line.split("==")[1].split()[0]
            for line in (REPO_ROOT / name).read_text().splitlines() if "==" in line and not line.startswith("#")}


def test_every_service_image_is_built_from_the_image_lock_file(compose, services):
    python_services = [n for n, s in services.items() if "build" in s]
    assert set(AIRFLOW_COMMANDS) | {"airflow-init", "portal"} <= set(python_services)
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert "-r requirements-image.lock" in dockerfile and "--no-deps" in dockerfile
    image, development = _pins("requirements-image.lock"), _pins("requirements.lock")
    assert {name: (image[name], development[name]) for name in image.keys() & development.keys()
            if image[name] != development[name]} == {}, "the image runs the versions the tests ran"
    assert "apache-airflow-providers-fab" in image


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


# ---------------------------------------------------------------- safe by default

SECRET_WORDS = ("PASSWORD", "SECRET", "FERNET", "BASIC_AUTH")


def _env_example_values(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def unsafe_settings(compose: dict, env_example: str, dockerfile: str, dockerignore: str, caddyfile: str) -> list[str]:
    """Every unsafe setting of the production topology, in words (empty: safe by default)."""
    problems, services = [], compose["services"]
    for name, service in services.items():
        env = service.get("environment") or {}
        auth = env.get("AIRFLOW__CORE__AUTH_MANAGER")
        if auth is not None and not auth.endswith("FabAuthManager"):
            problems.append(f"{name}: auth manager {auth} (one shared login; development only)")
        if any(key.startswith("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER") for key in env):
            problems.append(f"{name}: SimpleAuthManager users configured")
        if auth is not None and str(env.get("AIRFLOW__FAB__COOKIE_SECURE")).lower() != "true":
            problems.append(f"{name}: Airflow's session cookie is not Secure")
        broker = env.get("AIRFLOW__CELERY__BROKER_URL")
        if broker is not None and not re.match(r"redis://:\$\{REDIS_PASSWORD:\?[^}]+\}@redis:", broker):
            problems.append(f"{name}: Redis broker URL without the required password")
        for port in service.get("ports", []):
            if name != "proxy" and not str(port).startswith("127.0.0.1:"):
                problems.append(f"{name}: publishes port {port} on every interface")
        for volume in service.get("volumes", []):
            if str(volume).endswith(":/var/lib/cop") and not str(volume).startswith("${COP_HOME_DIR:?"):
                problems.append(f"{name}: COP_HOME is not the shared file system COP_HOME_DIR ({volume})")
        command = " ".join(map(str, service.get("command") or []))
        if re.search(r"chown\s+(-\w*R|--recursive)", command):
            problems.append(f"{name}: recursive chown (locks the SFTP users out of their inbox folders)")
        if "healthcheck" not in service and name != "airflow-init":
            problems.append(f"{name}: no health check")
    if "--requirepass" not in services["redis"].get("command", []):
        problems.append("redis: no password")
    flower_env = services.get("flower", {}).get("environment") or {}
    if "flower" in services and not str(flower_env.get("AIRFLOW__CELERY__FLOWER_BASIC_AUTH", "")).startswith(
            "${FLOWER_BASIC_AUTH:?"):
        problems.append("flower: no basic auth")
    if "--proxy-headers" not in services["airflow-apiserver"]["command"]:
        problems.append("airflow-apiserver: ignores the proxy's https (its login cookie would not be Secure)")
    if services["portal"]["environment"].get("COP_PORTAL_SECURE_COOKIES") != "1":
        problems.append("portal: cookies not Secure")
    proxy = services.get("proxy")
    if proxy is None or "443:443" not in proxy.get("ports", []):
        problems.append("no TLS reverse proxy in front of the portal and the Airflow UI")
    if caddyfile.count("tls /certs/") < 2 or "reverse_proxy portal:8000" not in caddyfile \
            or "reverse_proxy airflow-apiserver:8080" not in caddyfile:
        problems.append("the proxy does not serve both the portal and the Airflow UI over TLS")
    for name, value in _env_example_values(env_example).items():
        if any(word in name for word in SECRET_WORDS) and value:
            problems.append(f".env.example: {name} has a value that would start as is")
    if re.search(r"-r\s+requirements\.lock", dockerfile):
        problems.append("Dockerfile: installs requirements.lock (the test tools)")
    if "tests" not in dockerignore.split():
        problems.append(".dockerignore: the tests go into the image")
    return problems


def _files() -> dict:
    return {"compose": yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text()),
            "env_example": (REPO_ROOT / ".env.example").read_text(),
            "dockerfile": (REPO_ROOT / "Dockerfile").read_text(),
            "dockerignore": (REPO_ROOT / ".dockerignore").read_text(),
            "caddyfile": (REPO_ROOT / "deploy" / "Caddyfile").read_text()}


def test_the_topology_is_safe_by_default():
    assert unsafe_settings(**_files()) == []


def _set(service: str, key: str, value):
    return lambda f: f["compose"]["services"][service]["environment"].__setitem__(key, value)


UNSAFE = {
    "simple auth manager": _set("airflow-scheduler", "AIRFLOW__CORE__AUTH_MANAGER",
                                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"),
    "shared admin login": _set("airflow-worker", "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin"),
    "insecure airflow cookie": _set("airflow-apiserver", "AIRFLOW__FAB__COOKIE_SECURE", "false"),
    "redis without password": _set("airflow-worker", "AIRFLOW__CELERY__BROKER_URL", "redis://:@redis:6379/0"),
    "redis server open": lambda f: f["compose"]["services"]["redis"].__setitem__("command", ["redis-server"]),
    "flower without auth": lambda f: f["compose"]["services"]["flower"]["environment"].pop(
        "AIRFLOW__CELERY__FLOWER_BASIC_AUTH"),
    "flower on every interface": lambda f: f["compose"]["services"]["flower"].__setitem__("ports", ["5555:5555"]),
    "warehouse published": lambda f: f["compose"]["services"]["warehouse-db"].__setitem__("ports", ["5433:5432"]),
    "airflow UI without TLS": lambda f: f["compose"]["services"]["airflow-apiserver"].__setitem__("ports",
                                                                                                  ["8080:8080"]),
    "portal without TLS": lambda f: f["compose"]["services"]["portal"].__setitem__("ports", ["8000:8000"]),
    "no proxy": lambda f: f["compose"]["services"].pop("proxy"),
    "portal cookies": _set("portal", "COP_PORTAL_SECURE_COOKIES", "0"),
    "api-server behind proxy": lambda f: f["compose"]["services"]["airflow-apiserver"].__setitem__(
        "command", ["airflow", "api-server"]),
    "placeholder secret": lambda f: f.__setitem__("env_example", f["env_example"].replace(
        "AIRFLOW_FERNET_KEY=", "AIRFLOW_FERNET_KEY=change-me")),
    "local COP_HOME volume": lambda f: f["compose"]["services"]["portal"].__setitem__(
        "volumes", ["cop-home:/var/lib/cop"]),
    "recursive chown": lambda f: f["compose"]["services"]["airflow-init"]["command"].append(
        "chown -R 50000:0 /var/lib/cop"),
    "no health check": lambda f: f["compose"]["services"]["airflow-triggerer"].pop("healthcheck"),
    "tests in the image": lambda f: f.__setitem__("dockerignore", ".git\n.venv\n"),
    "test tools in the image": lambda f: f.__setitem__("dockerfile", f["dockerfile"].replace(
        "requirements-image.lock", "requirements.lock")),
}


@pytest.mark.parametrize("unsafe", sorted(UNSAFE))
def test_each_unsafe_setting_is_caught(unsafe):
    files = copy.deepcopy(_files())
    UNSAFE[unsafe](files)
    assert unsafe_settings(**files), f"'{unsafe}' came back unnoticed"
