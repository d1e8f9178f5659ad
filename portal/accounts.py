"""Portal accounts: users, passwords (argon2id), sign-in sessions, sign-in rate limiting, the audit log.

Everything is in PostgreSQL (schema `portal`, cop/sql/030_portal.sql), so several portal processes
behind a load balancer share sessions and limits, and `cop users` manages the same accounts.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from dataclasses import dataclass

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from cop import db
from cop.registry import load_registry
from cop.security import PORTAL_ROLE

ROLES = ("province", "federal")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
MIN_PASSWORD_LENGTH = 10
SESSION_IDLE = dt.timedelta(minutes=60)
SESSION_MAX = dt.timedelta(hours=10)
# Sign-in limits (portal.sign_in_limits, cop/sql/071_sign_in_limits.sql), per account and per address,
# kept apart: failures counted over the window; over the limit, an account is locked (whatever the
# address) and an address throttled (whatever the account), for a lockout that doubles each time.
FAILURE_WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES = {"account": 5, "address": 30}
FIRST_LOCKOUT = dt.timedelta(minutes=5)
MAX_LOCKOUT = dt.timedelta(hours=4)

_hasher = PasswordHasher()  # argon2id with the library's current (RFC 9106 low-memory) parameters
# Verified against when the username is unknown, so that both cases take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A user cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    role: str
    province_code: str | None
    disabled: bool = False
    created_at: dt.datetime | None = None

    @property
    def is_federal(self) -> bool:
        return self.role == "federal"


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str
    token_sha256: str


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: a session token, or why not."""
    outcome: str  # signed_in | bad_credentials | rate_limited
    token: str | None = None
    session: Session | None = None
    retry_after_minutes: int = 0
    limited: str | None = None  # rate_limited: "account" or "address"


# ---------------------------------------------------------------- users


def normalise_username(username: str) -> str:
    return username.strip().lower()


def add_user(username: str, password: str, role: str, province: str | None = None,
             display_name: str | None = None) -> User:
    username = normalise_username(username)
    if not USERNAME.match(username):
        raise AccountError("a username is 2 to 63 characters: lower-case letters, digits, '.', '_' or '-', "
                           "starting with a letter or digit")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    province = _check_province(role, province)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters long")
    user = User(username, (display_name or username).strip(), role, province)
    try:
        with db.connect_as(PORTAL_ROLE, autocommit=True) as conn:
            conn.execute("insert into portal.users (username, display_name, role, province_code, password_hash) "
                         "values (%s, %s, %s, %s, %s)",
                         (user.username, user.display_name, role, province, _hasher.hash(password)))
            audit(conn, None, "user.created", {"user": username, "role": role, "province": province})
    except psycopg.errors.UniqueViolation:
        raise AccountError(f"user '{username}' already exists") from None
    return user


def _check_province(role: str, province: str | None) -> str | None:
    if role == "federal":
        if province:
            raise AccountError("a federal reviewer belongs to no province: leave --province out")
        return None
    codes = load_registry().province_codes
    code = (province or "").strip().upper()
    if code not in codes:
        raise AccountError(f"a province user needs --province, one of {', '.join(codes)}")
    return code


def set_disabled(username: str, disabled: bool) -> None:
    username = normalise_username(username)
    with db.connect_as(PORTAL_ROLE, autocommit=True) as conn:
        changed = conn.execute("update portal.users set disabled = %s where username = %s",
                               (disabled, username)).rowcount
        if not changed:
            raise AccountError(f"no user '{username}'")
        if disabled:
            conn.execute("delete from portal.sessions where username = %s", (username,))
        audit(conn, None, "user.disabled" if disabled else "user.enabled", {"user": username})


def list_users() -> list[User]:
    with db.connect_as(PORTAL_ROLE) as conn:
        rows = conn.execute("select username, display_name, role, province_code, disabled, created_at "
                            "from portal.users order by role, province_code nulls first, username").fetchall()
    return [User(*row) for row in rows]


def _user(conn: psycopg.Connection, username: str) -> tuple[User, str] | None:
    row = conn.execute("select username, display_name, role, province_code, disabled, created_at, password_hash "
                       "from portal.users where username = %s", (username,)).fetchone()
    return (User(*row[:6]), row[6]) if row else None


# ---------------------------------------------------------------- sign-in


def sign_in(username: str, password: str, ip: str) -> SignIn:
    """Check a password under the sign-in limits; on success open a new session (a fresh token: no fixation)."""
    username = normalise_username(username)[:100]
    keys = {"address": ip[:100], "account": username}
    with db.connect_as(PORTAL_ROLE, autocommit=True) as conn:
        refusal = _charge_attempt(conn, keys)
        if refusal:
            scope, minutes = refusal
            audit(conn, username, "sign_in.rate_limited", {"limit": scope, "retry_after_minutes": minutes}, ip)
            return SignIn("rate_limited", retry_after_minutes=minutes, limited=scope)
        found = _user(conn, username)
        user = _verified(conn, found, password)
        conn.execute("insert into portal.login_attempts (username, ip, success) values (%s, %s, %s)",
                     (username, ip, user is not None))
        if user is None:
            reason = "unknown user" if found is None else ("disabled" if found[0].disabled else "wrong password")
            audit(conn, username, "sign_in.failed", {"reason": reason}, ip)
            for scope, until in _settle_failure(conn, keys):
                audit(conn, username, "sign_in.locked", {"limit": scope, "key": keys[scope], "until": until}, ip)
            return SignIn("bad_credentials")
        _settle_success(conn, keys)
        token, session = _open_session(conn, user, ip)
        audit(conn, username, "sign_in", {"role": user.role, "province": user.province_code}, ip)
        return SignIn("signed_in", token=token, session=session)


def _verified(conn: psycopg.Connection, found: tuple[User, str] | None, password: str) -> User | None:
    stored = found[1] if found else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if found is None or found[0].disabled:
        return None
    user = found[0]
    if _hasher.check_needs_rehash(stored):
        conn.execute("update portal.users set password_hash = %s where username = %s",
                     (_hasher.hash(password), user.username))
    return user


# The attempt is charged to its address and its account before the password is checked, each under the
# row's lock, so that parallel attempts see each other's charges: at most MAX_FAILURES[scope] of them get
# through in a window. A success gives its charge back; a failure that fills a row locks it.
_CHARGE = """
    insert into portal.sign_in_limits as l (scope, key, failures) values (%(scope)s, %(key)s, 1)
    on conflict (scope, key) do update set
        failures = case when l.window_started_at <= now() - %(window)s then 1 else l.failures + 1 end,
        window_started_at = case when l.window_started_at <= now() - %(window)s then now()
                                 else l.window_started_at end
    where (l.locked_until is null or l.locked_until <= now())
      and (l.failures < %(limit)s or l.window_started_at <= now() - %(window)s)
    returning failures"""
_RETRY_AFTER = """
    select case when locked_until > now() then locked_until else window_started_at + %(window)s end - now()
    from portal.sign_in_limits where scope = %(scope)s and key = %(key)s"""
_LOCK_IF_FULL = """
    update portal.sign_in_limits set
        lockouts = case when locked_until < now() - interval '1 day' then 1 else lockouts + 1 end,
        locked_until = now() + least(%(first)s * power(2, case when locked_until < now() - interval '1 day'
                                                                then 0 else lockouts end), %(max)s),
        failures = 0, window_started_at = now()
    where scope = %(scope)s and key = %(key)s and failures >= %(limit)s
    returning locked_until"""


def _limit_parameters(scope: str, key: str) -> dict:
    return {"scope": scope, "key": key, "window": FAILURE_WINDOW, "limit": MAX_FAILURES[scope],
            "first": FIRST_LOCKOUT, "max": MAX_LOCKOUT}


class _Full(Exception):
    """A sign-in limit is reached: who (account or address) and for how many minutes."""
    def __init__(self, scope: str, minutes: int):
        super().__init__(scope)
        self.scope, self.minutes = scope, minutes


def _charge_attempt(conn: psycopg.Connection, keys: dict[str, str]) -> tuple[str, int] | None:
    """Charge the attempt to its address, then its account; (scope, minutes to wait) when one is full
    (nothing is charged then)."""
    try:
        with conn.transaction():
            for scope in ("address", "account"):  # always this order: no deadlock between two attempts
                parameters = _limit_parameters(scope, keys[scope])
                if conn.execute(_CHARGE, parameters).fetchone() is None:
                    wait = conn.execute(_RETRY_AFTER, parameters).fetchone()[0]
                    raise _Full(scope, max(1, -(-int(wait.total_seconds()) // 60)))
    except _Full as full:
        return full.scope, full.minutes
    return None


def _settle_failure(conn: psycopg.Connection, keys: dict[str, str]) -> list[tuple[str, dt.datetime]]:
    """Keep the failed attempt's charges; lock each row that is now full. Returns the new locks."""
    locked = []
    for scope in ("address", "account"):
        row = conn.execute(_LOCK_IF_FULL, _limit_parameters(scope, keys[scope])).fetchone()
        if row:
            locked.append((scope, row[0]))
    return locked


def _settle_success(conn: psycopg.Connection, keys: dict[str, str]) -> None:
    """Give the address its charge back, and clear the account's failures and lockouts."""
    with conn.transaction():
        conn.execute("update portal.sign_in_limits set failures = greatest(failures - 1, 0) "
                     "where scope = 'address' and key = %s", (keys["address"],))
        conn.execute("delete from portal.sign_in_limits where scope = 'account' and key = %s", (keys["account"],))


# ---------------------------------------------------------------- sessions


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _open_session(conn: psycopg.Connection, user: User, ip: str) -> tuple[str, Session]:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    conn.execute("insert into portal.sessions (token_sha256, username, csrf_token, ip, expires_at) "
                 "values (%s, %s, %s, %s, now() + %s)", (_hash_token(token), user.username, csrf, ip, SESSION_MAX))
    return token, Session(user, csrf, _hash_token(token))


def session_for(token: str | None) -> Session | None:
    """The live session of a cookie token (sliding idle timeout), or None."""
    if not token or len(token) > 200:
        return None
    digest = _hash_token(token)
    with db.connect_as(PORTAL_ROLE, autocommit=True) as conn:
        row = conn.execute(
            "update portal.sessions s set last_seen_at = now() from portal.users u "
            "where s.token_sha256 = %s and u.username = s.username and not u.disabled "
            "and s.expires_at > now() and s.last_seen_at > now() - %s "
            "returning u.username, u.display_name, u.role, u.province_code, u.disabled, u.created_at, s.csrf_token",
            (digest, SESSION_IDLE)).fetchone()
    if row is None:
        return None
    return Session(User(*row[:6]), row[6], digest)


def sign_out(session: Session, ip: str) -> None:
    with db.connect_as(PORTAL_ROLE, autocommit=True) as conn:
        conn.execute("delete from portal.sessions where token_sha256 = %s", (session.token_sha256,))
        conn.execute("delete from portal.sessions where expires_at < now() or last_seen_at < now() - %s",
                     (SESSION_IDLE,))
        # Limits that count nothing any more: their window is over and any lock ended a day ago.
        conn.execute("delete from portal.sign_in_limits where window_started_at < now() - %s "
                     "and coalesce(locked_until, '-infinity') < now() - interval '1 day'", (FAILURE_WINDOW,))
        audit(conn, session.user.username, "sign_out", {}, ip)


# ---------------------------------------------------------------- audit


def audit(conn: psycopg.Connection | None, username: str | None, action: str, detail: dict,
          ip: str | None = None) -> None:
    """One line of the audit log (sign-ins, uploads, downloads, refusals, account changes)."""
    if conn is None:
        with db.connect_as(PORTAL_ROLE, autocommit=True) as own:
            return audit(own, username, action, detail, ip)
    conn.execute("insert into portal.audit_log (username, action, detail, ip) values (%s, %s, %s::jsonb, %s)",
                 (username, action, json.dumps(detail, default=str, ensure_ascii=False), ip))


def audit_entries(limit: int = 200, username: str | None = None, action_prefix: str | None = None) -> list[dict]:
    conditions, parameters = [], []
    if username:
        conditions.append("username = %s")
        parameters.append(normalise_username(username))
    if action_prefix:
        conditions.append("action like %s")
        parameters.append(action_prefix.replace("%", r"\%").replace("_", r"\_") + "%")
    where = f"where {' and '.join(conditions)}" if conditions else ""
    with db.connect_as(PORTAL_ROLE) as conn:
        cursor = conn.execute(f"select at, username, action, detail, ip from portal.audit_log {where} "
                              f"order by audit_id desc limit %s", (*parameters, limit))
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
