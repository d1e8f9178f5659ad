"""The warehouse's database roles and how to connect as them.

The roles themselves (and their privileges) are created by the migrations
(cop/sql/010_roles_and_security.sql, 070_least_privilege.sql) through
`security.ensure_roles()`, which cop.db.migrate runs after every migration. A login role's
password is COP_DB_PASSWORD_<ROLE> when set (production: .env, e.g. COP_DB_PASSWORD_COP_PORTAL),
else one generated once per COP_HOME and kept in COP_HOME/secrets/roles.json (readable by its
owner only, never in git). `cop db roles` prints the model and the URLs.
"""
from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from cop.paths import state_dir

TRANSFORM_ROLE = "cop_transform"
LOADER_ROLE = "cop_loader"  # the intake
PORTAL_ROLE = "cop_portal"
BI_READER_ROLE = "bi_reader"
# What each role is for (cop db roles); the privileges themselves are in 070_least_privilege.sql.
PURPOSES = {
    LOADER_ROLE: "the intake (CLI, inbox DAG, portal uploads): reads raw and audit, appends submissions, "
                 "rows, values and problems; updates and deletes nothing",
    PORTAL_ROLE: "the portal: its accounts, sessions, sign-in limits and checks; appends to the audit log; "
                 "reads raw and audit",
    TRANSFORM_ROLE: "dbt, scores and reports: owns staging, intermediate, snapshots and marts; reads raw "
                    "and audit; writes scores",
    BI_READER_ROLE: "federal BI: reads every province's rows of marts, nothing else",
}
READER_PURPOSE = "reads its own province's rows of marts, nothing else"


def province_reader_role(province_code: str) -> str:
    return f"province_reader_{province_code.strip().lower()}"


def _password_file() -> Path:
    folder = state_dir("secrets")
    folder.chmod(0o700)
    return folder / "roles.json"


def password_variable(role: str) -> str:
    return f"COP_DB_PASSWORD_{role.upper()}"


def _load_passwords() -> dict[str, str]:
    path = _password_file()
    return json.loads(path.read_text()) if path.exists() else {}


def _save_passwords(passwords: dict[str, str]) -> None:
    path = _password_file()
    temporary = path.with_suffix(".tmp")
    temporary.touch(mode=0o600)
    temporary.write_text(json.dumps(passwords, indent=1, sort_keys=True))
    os.replace(temporary, path)


def ensure_roles(conn: psycopg.Connection) -> dict[str, str]:
    """Create any missing role (a province added to the registry gets its reader) and set the
    login roles' passwords. Returns {role: password} for every login role. `conn`: the administrator's."""
    login_roles = [row[0] for row in conn.execute("select * from security.ensure_roles()")]
    if conn.execute("select to_regprocedure('security.let_portal_read_as_provinces()')").fetchone()[0]:
        conn.execute("select security.let_portal_read_as_provinces()")   # 086: the portal reads as a province
    conn.execute("select security.ensure_reader_defaults()")  # search_path = marts (cop/sql/093)
    passwords = _load_passwords()
    changed = False
    for role in login_roles:
        configured = os.environ.get(password_variable(role))
        if configured:
            passwords[role] = configured
        elif role not in passwords:
            passwords[role] = secrets.token_urlsafe(18)
            changed = True
        conn.execute(sql.SQL("alter role {} login password {}").format(sql.Identifier(role),
                                                                       sql.Literal(passwords[role])))
    if changed:
        _save_passwords({role: password for role, password in passwords.items()
                         if not os.environ.get(password_variable(role))})
    return {role: passwords[role] for role in login_roles}


def role_url(role: str, admin_url: str, password: str | None = None) -> str:
    """The warehouse URL `admin_url` with `role`'s credentials instead of the administrator's."""
    if password is None:
        password = os.environ.get(password_variable(role)) or _load_passwords().get(role)
    if password is None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            password = ensure_roles(conn).get(role)
    if password is None:
        raise KeyError(f"'{role}' is not a login role of the warehouse")
    parts = urlsplit(admin_url)
    host = parts.netloc.rsplit("@", 1)[-1]
    netloc = f"{quote(role, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def role_urls(admin_url: str) -> dict[str, str]:
    """Every login role of the warehouse and its connection URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        passwords = ensure_roles(conn)
    return {role: role_url(role, admin_url, password) for role, password in passwords.items()}


@dataclass(frozen=True)
class RoleModel:
    role: str
    purpose: str
    connection_limit: int  # -1: none
    settings: tuple[str, ...]
    member_of: tuple[str, ...]


def role_model(conn: psycopg.Connection) -> list[RoleModel]:
    """Every login role of the warehouse as the server has it: purpose, connection limit, settings."""
    rows = conn.execute(
        "select r.rolname, r.rolconnlimit, coalesce(r.rolconfig, '{}'), "
        "       coalesce(array(select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid "
        "                      where m.member = r.oid order by 1), '{}') "
        "from pg_roles r where r.rolcanlogin and (r.rolname = any(%s) "
        "      or r.rolname in (select role_name from security.province_readers)) "
        "order by r.rolname like 'province_reader_%%', r.rolname", (list(PURPOSES),)).fetchall()
    return [RoleModel(name, PURPOSES.get(name, READER_PURPOSE), limit, tuple(config), tuple(groups))
            for name, limit, config, groups in rows]
