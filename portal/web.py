"""What every portal page shares: settings, rendering, the signed-in session, CSRF and refusals."""
from __future__ import annotations

import datetime as dt
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import unquote_to_bytes
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import cookie_parser
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


class BadRequest(Refused):
    """A malformed request (a NUL byte, a control character, a form that cannot be parsed): a 400 and an
    audit line, never a 500."""

    def __init__(self, what: str):
        super().__init__(f"The request could not be read: {what}. Go back, reload the page and try again.",
                         status_code=400, audit_action="request.malformed", detail={"reason": what})


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
    if not isinstance(sent, str) or not secrets.compare_digest(sent.encode(), session.csrf_token.encode()):
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
    return isinstance(sent, str) and secrets.compare_digest(token.encode(), sent.encode())


# ---------------------------------------------------------------- malformed requests


# C0 controls and DEL: never in an address, a cookie or a form field of this portal.
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
# In a header value, tab is allowed (RFC 9110 field-value); no other control character is.
HEADER_CONTROL_BYTE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


def printable(text: str, limit: int = 100) -> str:
    """Text safe to show and to store in the audit log (jsonb holds no NUL): controls written as \\xNN."""
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in str(text)[:limit])


def malformed_part(scope) -> str | None:
    """What is malformed in a request's address, headers or cookies; None when nothing is."""
    if CONTROL_CHARACTER.search(scope["path"]):
        return "the address contains a NUL byte or a control character"
    try:
        query = unquote_to_bytes(scope.get("query_string", b"")).decode("utf-8")
    except UnicodeDecodeError:
        return "the address's parameters are not UTF-8 text"
    if CONTROL_CHARACTER.search(query):
        return "the address's parameters contain a NUL byte or a control character"
    for name, value in scope.get("headers", []):
        if HEADER_CONTROL_BYTE.search(value):
            return f"the header {printable(name.decode('latin-1'), 40)} contains a control character"
        if name == b"cookie" and any(CONTROL_CHARACTER.search(v) for v in cookie_parser(value.decode("latin-1")).values()):
            return "a cookie contains a NUL byte or a control character"
    return None


class FormCutShort(StarletteHTTPException):
    def __init__(self) -> None:
        super().__init__(400, "it ends before its closing boundary")


class RequestGuard:
    """Refuses a malformed request (malformed_part) with a 400 and an audit line before any page sees it,
    and makes a multipart body that ends before its closing boundary (a cut-short upload, which the
    multipart parser would take as complete) fail the form's parsing."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        what = malformed_part(scope)
        if what is None:
            return await self.app(scope, _whole_multipart(scope, receive), send)
        request = Request(scope)
        refusal = BadRequest(what)
        username = None if "cookie" in what else await run_in_threadpool(_username_of, request)
        detail = {"path": printable(scope["path"], 200), "method": scope["method"], **refusal.detail}
        await run_in_threadpool(accounts.audit, None, username, refusal.audit_action, detail, client_ip(request))
        response = render(request, "error.html", 400, title="Bad request", message=refusal.message)
        await response(scope, receive, send)


def _username_of(request: Request) -> str | None:
    session = accounts.session_for(request.cookies.get(SESSION_COOKIE))
    return session.user.username if session else None


def _whole_multipart(scope, receive):
    content_type = dict(scope.get("headers", [])).get(b"content-type", b"")
    boundary = re.search(rb"boundary=\"?([^\";]+)", content_type) if content_type.startswith(b"multipart/") else None
    if boundary is None:
        return receive
    closing = b"--" + boundary.group(1) + b"--"
    tail = b""

    async def checked_receive():
        nonlocal tail
        message = await receive()
        if message["type"] == "http.request":
            tail = (tail + message.get("body", b""))[-(len(closing) + 4):]
            if not message.get("more_body") and not tail.rstrip(b"\r\n").endswith(closing):
                raise FormCutShort()
        return message
    return checked_receive


async def read_form(request: Request, **limits) -> FormData:
    """The request's form (request.form's limits), or BadRequest when it cannot be parsed or a field
    (name, value or file name) holds a NUL byte or a control character."""
    try:
        form = await request.form(**limits)
    except StarletteHTTPException as exc:
        if exc.status_code != 400:  # 413 (too large) has its own page
            raise
        raise BadRequest(f"the form could not be parsed ({printable(exc.detail)})") from None
    except (UnicodeDecodeError, ValueError, KeyError) as exc:
        raise BadRequest(f"the form could not be parsed ({type(exc).__name__})") from None
    for name, value in form.multi_items():
        text = (value.filename or "") if isinstance(value, UploadFile) else value
        if CONTROL_CHARACTER.search(name) or CONTROL_CHARACTER.search(text.replace("\r", "").replace("\n", "")):
            await form.close()
            raise BadRequest(f"the field '{printable(name, 40)}' contains a NUL byte or a control character")
        if "\ufffd" in name or "\ufffd" in text:  # what the form parser made of bytes that are not UTF-8
            await form.close()
            raise BadRequest(f"the field '{printable(name, 40)}' is not UTF-8 text")
    return form


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
