"""The warehouse's database roles and how to connect as them.

The roles themselves (and their privileges) are created by the migration
cop/sql/010_roles_and_security.sql through `security.ensure_roles()`. Login
roles get a password generated once per COP_HOME and kept in
COP_HOME/secrets/roles.json (readable by its owner only, never in git), so
that the tests, dbt and BI users can connect: `cop db roles` prints the URLs.
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from cop import db
from cop.paths import state_dir

TRANSFORM_ROLE = "cop_transform"
LOADER_ROLE = "cop_loader"
BI_READER_ROLE = "bi_reader"


def province_reader_role(province_code: str) -> str:
    return f"province_reader_{province_code.strip().lower()}"


def _password_file() -> Path:
    folder = state_dir("secrets")
    folder.chmod(0o700)
    return folder / "roles.json"


def _load_passwords() -> dict[str, str]:
    path = _password_file()
    return json.loads(path.read_text()) if path.exists() else {}


def _save_passwords(passwords: dict[str, str]) -> None:
    path = _password_file()
    temporary = path.with_suffix(".tmp")
    temporary.touch(mode=0o600)
    temporary.write_text(json.dumps(passwords, indent=1, sort_keys=True))
    os.replace(temporary, path)


def ensure_roles(conn: psycopg.Connection | None = None) -> dict[str, str]:
    """Create any missing role (a province added to the registry gets its reader) and set the
    login roles' passwords. Returns {role: password} for every login role."""
    if conn is None:
        with db.connect(autocommit=True) as own:
            return ensure_roles(own)
    login_roles = [row[0] for row in conn.execute("select * from security.ensure_roles()")]
    passwords = _load_passwords()
    changed = False
    for role in login_roles:
        if role not in passwords:
            passwords[role] = secrets.token_urlsafe(18)
            changed = True
        conn.execute(sql.SQL("alter role {} login password {}").format(sql.Identifier(role),
                                                                       sql.Literal(passwords[role])))
    if changed:
        _save_passwords(passwords)
    return {role: passwords[role] for role in login_roles}


def role_url(role: str, password: str | None = None) -> str:
    """The warehouse URL with `role`'s credentials instead of the administrator's."""
    if password is None:
        password = _load_passwords().get(role) or ensure_roles().get(role)
        if password is None:
            raise KeyError(f"'{role}' is not a login role of the warehouse")
    parts = urlsplit(db.database_url())
    host = parts.netloc.rsplit("@", 1)[-1]
    netloc = f"{quote(role, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def role_urls() -> dict[str, str]:
    """Every login role of the warehouse and its connection URL."""
    return {role: role_url(role, password) for role, password in ensure_roles().items()}
