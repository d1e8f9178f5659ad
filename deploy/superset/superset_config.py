"""Superset's configuration, for `make bi` (deploy/superset/bi.sh) and the compose service `superset`: its
metadata in a SQLite file under SUPERSET_HOME; the secret key from SUPERSET_SECRET_KEY (compose, .env), else
generated once into COP_HOME/secrets (never in git)."""
import os
import secrets
from pathlib import Path

_home = Path(os.environ["SUPERSET_HOME"])


def _secret_key() -> str:
    if os.environ.get("SUPERSET_SECRET_KEY"):
        return os.environ["SUPERSET_SECRET_KEY"]
    key_file = Path(os.environ["COP_HOME"]) / "secrets" / "superset-secret-key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(42))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
SQLALCHEMY_DATABASE_URI = f"sqlite:///{_home / 'superset.db'}"
FEATURE_FLAGS = {"DASHBOARD_RBAC": True}
WTF_CSRF_ENABLED = True
TALISMAN_ENABLED = False  # local use on 127.0.0.1; production sits behind the TLS proxy
