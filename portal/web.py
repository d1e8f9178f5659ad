"""What every portal page shares: settings, rendering, the signed-in session, CSRF and refusals."""
from __future__ import annotations

import datetime as dt
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from itsdangerous import BadSignature, TimestampSigner
from jinja2 import Environment, FileSystemLoader, select_autoescape

from cop.paths import state_dir
from cop.period import format_period
from portal import accounts

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
SESSION_COOKIE = "cop_session"
LOGIN_CSRF_COOKIE = "cop_login_csrf"
LOGIN_CSRF_MAX_AGE = 3600
AGENCY_TIME_ZONE = ZoneInfo("Asia/Karachi")


@dataclass
class Settings:
    clock: Callable[[], dt.datetime]
    # None: Secure cookies exactly when the request came over HTTPS (directly or through a proxy
    # that uvicorn trusts, --forwarded-allow-ips). Production sits behind TLS: set COP_PORTAL_SECURE_COOKIES=1.
    secure_cookies: bool | None
    signer: TimestampSigner

    @classmethod
    def from_environment(cls, clock: Callable[[], dt.datetime] | None = None,
                         secure_cookies: bool | None = None) -> "Settings":
        if secure_cookies is None and os.environ.get("COP_PORTAL_SECURE_COOKIES", "").strip():
            secure_cookies = os.environ["COP_PORTAL_SECURE_COOKIES"].strip().lower() in ("1", "true", "yes")
        return cls(clock=clock or (lambda: dt.datetime.now(dt.timezone.utc)), secure_cookies=secure_cookies,
                   signer=TimestampSigner(_secret_key(), salt="cop-portal-login"))

    def cookie_secure(self, request: Request) -> bool:
        return self.secure_cookies if self.secure_cookies is not None else request.url.scheme == "https"


def _secret_key() -> str:
    """COP_PORTAL_SECRET_KEY, else a key generated once per COP_HOME (secrets/, owner-only)."""
    if os.environ.get("COP_PORTAL_SECRET_KEY"):
        return os.environ["COP_PORTAL_SECRET_KEY"]
    folder = state_dir("secrets")
    folder.chmod(0o700)
    path = folder / "portal.key"
    if not path.exists():
        temporary = path.with_suffix(".tmp")
        temporary.touch(mode=0o600)
        temporary.write_text(secrets.token_urlsafe(48))
        temporary.replace(path)
    return path.read_text().strip()


# ---------------------------------------------------------------- refusals


class SignInRequired(Exception):
    """No live session: the page redirects to the sign-in form."""


class Refused(Exception):
    """A request the signed-in user may not make (another province's data, a forged field, no CSRF token)."""

    def __init__(self, message: str, status_code: int = 403, audit_action: str = "access.denied",
                 detail: dict | None = None):
        super().__init__(message)
        self.message, self.status_code, self.audit_action, self.detail = message, status_code, audit_action, detail or {}


def client_ip(request: Request) -> str:
    """The client's address; X-Forwarded-For counts only from COP_PORTAL_TRUSTED_PROXIES (portal.addresses)."""
    from portal.addresses import client_address

    return client_address(request.client.host if request.client else None,
                          request.headers.getlist("x-forwarded-for"))


# ---------------------------------------------------------------- sessions and CSRF


def current_session(request: Request) -> accounts.Session:
    session = accounts.session_for(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise SignInRequired()
    request.state.session = session
    return session


def province_user(request: Request) -> accounts.Session:
    session = current_session(request)
    if session.user.is_federal:
        raise Refused("Federal reviewer accounts cannot upload returns: sign in with a province account.")
    return session


def federal_user(request: Request) -> accounts.Session:
    session = current_session(request)
    if not session.user.is_federal:
        raise Refused("This page is for federal reviewers only.")
    return session


def ensure_province_access(session: accounts.Session, province: str, what: str = "page") -> None:
    """A province user sees only its own province; a federal reviewer sees every province."""
    if not session.user.is_federal and session.user.province_code != province:
        raise Refused(f"Your account belongs to {session.user.province_code}: you cannot open another "
                      f"province's {what}.", detail={"asked_for": province})


def check_csrf(session: accounts.Session, form) -> None:
    sent = form.get("csrf_token")
    if not isinstance(sent, str) or not secrets.compare_digest(sent, session.csrf_token):
        raise Refused("This form has expired or did not come from this site. Go back, reload the page and "
                      "try again.", audit_action="csrf.refused")


def new_login_csrf(settings: Settings) -> tuple[str, str]:
    """(token for the form, signed value for the cookie): the sign-in form's double-submit token."""
    token = secrets.token_urlsafe(24)
    return token, settings.signer.sign(token).decode()


def login_csrf_ok(settings: Settings, cookie: str | None, sent: str | None) -> bool:
    if not cookie or not sent:
        return False
    try:
        token = settings.signer.unsign(cookie, max_age=LOGIN_CSRF_MAX_AGE).decode()
    except BadSignature:
        return False
    return secrets.compare_digest(token, sent)


# ---------------------------------------------------------------- rendering


def _local_time(moment: dt.datetime | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment.astimezone(AGENCY_TIME_ZONE).strftime("%d %b %Y, %H:%M") + " PKT"


def _due_day(due_at: dt.datetime) -> str:
    """due_at is the instant the due day ends: show that day, which is how people read a deadline."""
    return (due_at - dt.timedelta(seconds=1)).astimezone(AGENCY_TIME_ZONE).strftime("%d %b %Y") + " (end of day)"


def _month_name(month) -> str:
    if isinstance(month, str):
        month = dt.date.fromisoformat(month + "-01" if len(month) == 7 else month)
    return month.strftime("%B %Y")


def _file_size(size: int | None) -> str:
    if size is None:
        return ""
    return f"{size / 1_000_000:.1f} MB" if size >= 1_000_000 else f"{max(1, round(size / 1000))} kB"


def _percent(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 100:.1f}%" if 0 < value < 0.1 else f"{value * 100:.0f}%"


_QUOTED = re.compile(r"'([^'\n]*)'")


def _isolate_quoted(text: str) -> str:
    """Quoted names inside a message (Urdu headers in an English sentence) as bidi isolates, so that
    the sentence keeps its order: 'تنازعات حل' (4) stays before 'is more than'."""
    return _QUOTED.sub(lambda m: "'\u2068" + m.group(1) + "\u2069'", text or "")


_environment = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(default=True),
                           trim_blocks=True, lstrip_blocks=True)
_environment.filters.update(local_time=_local_time, due_day=_due_day, isolate=_isolate_quoted, month_name=_month_name, file_size=_file_size,
                            percent=_percent, period=format_period)


def render(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    session = getattr(request.state, "session", None)
    html = _environment.get_template(template).render(
        request=request, session=session, user=session.user if session else None,
        csrf_token=session.csrf_token if session else None, **context)
    return HTMLResponse(html, status_code=status_code)
