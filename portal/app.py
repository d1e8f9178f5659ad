"""The province portal: provinces sign in, download their template, check or submit a month's return
and read its verdict; federal reviewers see who reported, on time, and what went wrong.

    uvicorn --factory portal.app:create_app      (or `cop serve`)

Server-rendered pages, no JavaScript. Uploads go through loaders.intake.submit_file, the same
engine as the command line and the Airflow DAGs. Production sits behind a TLS-terminating proxy:
set COP_PORTAL_SECURE_COOKIES=1 there (cookies are then sent over HTTPS only).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import threading
from typing import Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from cop import db
from cop.security import PORTAL_ROLE
from cop.spec import load_form
from loaders import sandbox
from portal import accounts, federal, province, publications, review, stories
from portal.web import (LOGIN_CSRF_COOKIE, SESSION_COOKIE, STATIC_DIR, BadRequest, Refused, RequestGuard, Settings,
                        SignInRequired, check_csrf, client_ip, current_session, login_csrf_ok, new_login_csrf,
                        printable, read_form, render)

# Room for the form's other fields and the multipart framing around the file itself.
UPLOAD_OVERHEAD_BYTES = 64_000
PAGE_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; frame-ancestors 'none'"


class UploadTooLarge(StarletteHTTPException):
    def __init__(self) -> None:
        super().__init__(413)


class BodySizeLimit:
    """Refuse an upload bigger than the form's limit while it streams in, before it is all read."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        limit = self.limit if scope["path"].endswith("/upload") else 64_000
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        declared_too_large = declared.isdigit() and int(declared) > limit  # refused before reading a byte
        received = 0

        async def limited_receive():
            nonlocal received
            if declared_too_large:
                raise UploadTooLarge()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise UploadTooLarge()
            return message

        return await self.app(scope, limited_receive, send)


def create_app(clock: Callable[[], dt.datetime] | None = None, secure_cookies: bool | None = None) -> FastAPI:
    """The portal application. `clock` gives "now" (the receipt time of uploads and the due-date
    checks); tests pass a fixed one. `secure_cookies` None: Secure exactly over HTTPS."""
    settings = Settings.from_environment(clock, secure_cookies)
    app = FastAPI(title="COP province portal", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=_warm_verdict_children)
    app.state.settings = settings
    app.add_middleware(BodySizeLimit, limit=load_form().limits.max_file_bytes + UPLOAD_OVERHEAD_BYTES)
    app.add_middleware(RequestGuard)  # added last, so it runs first: nothing malformed reaches a page

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        is_report = request.url.path.endswith(("/report", ".html"))   # self-contained reports: inline styles
        response.headers.setdefault("Content-Security-Policy", REPORT_CSP if is_report else PAGE_CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    _add_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _add_sign_in_routes(app, settings)
    app.include_router(province.router)
    app.include_router(federal.router)
    app.include_router(review.router)
    app.include_router(stories.router)
    app.include_router(publications.router)
    return app


@contextlib.asynccontextmanager
async def _warm_verdict_children(app: FastAPI):
    """Start the verdict forkserver (it imports and warms Great Expectations, ~10 s) while the portal
    already serves pages, so that the first upload does not wait for it."""
    threading.Thread(target=sandbox.start, daemon=True, name="warm-verdict-children").start()
    yield


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, exc: SignInRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response = RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused):
        session = getattr(request.state, "session", None)
        accounts.audit(None, session.user.username if session else None, exc.audit_action,
                       {"path": request.url.path, "method": request.method, "reason": exc.message, **exc.detail},
                       client_ip(request))
        title = "Bad request" if isinstance(exc, BadRequest) else "Not allowed"
        return render(request, "error.html", exc.status_code, title=title, message=exc.message)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        wrong = [error for error in exc.errors() if error["loc"][0] != "path"]
        if wrong:  # a query parameter or a field of the wrong type: the request is malformed
            names = ", ".join(printable(str(error["loc"][-1]), 40) for error in wrong)
            return await refused(request, BadRequest(f"the parameter {names} is not valid"))
        return render(request, "error.html", 404, title="Page not found",
                      message="The page you asked for does not exist.")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 413:
            limit = load_form().limits.max_file_bytes
            try:
                session = current_session(request)
                accounts.audit(None, session.user.username, "upload.refused",
                               {"path": request.url.path, "reason": "too large"}, client_ip(request))
            except SignInRequired:
                pass
            return render(request, "error.html", 413, title="File too large",
                          message=f"The file is larger than the limit of {limit / 1_000_000:g} MB. A return for a "
                                  f"whole province is normally well under 1 MB: check that you chose the right file.")
        titles = {404: "Page not found", 405: "Not allowed"}
        return render(request, "error.html", exc.status_code, title=titles.get(exc.status_code, "Error"),
                      message="The page you asked for does not exist." if exc.status_code == 404 else str(exc.detail))


def _add_sign_in_routes(app: FastAPI, settings: Settings) -> None:
    @app.get("/health")
    def health():
        with db.connect_as(PORTAL_ROLE, connect_timeout=5) as conn:
            conn.execute("select 1")
        return JSONResponse({"status": "ok"})

    @app.get("/")
    def home(request: Request):
        session = current_session(request)
        if session.user.is_federal:
            return RedirectResponse("/federal", status_code=303)
        return RedirectResponse(f"/provinces/{session.user.province_code}", status_code=303)

    @app.get("/login")
    def login_form(request: Request, next: str = "/"):
        return _login_page(request, settings, next)

    @app.post("/login")
    async def login(request: Request):
        form = await read_form(request, max_files=0, max_fields=10, max_part_size=10_000)
        target = _safe_next(str(form.get("next") or "/"))
        ip = client_ip(request)
        if not login_csrf_ok(settings, request.cookies.get(LOGIN_CSRF_COOKIE), form.get("csrf_token")):
            accounts.audit(None, str(form.get("username") or "")[:100], "csrf.refused", {"path": "/login"}, ip)
            return _login_page(request, settings, target, 400,
                               "The sign-in form had expired. Please enter your details again.")
        # argon2 is slow on purpose: verify in the thread pool, not on the event loop.
        result = await run_in_threadpool(accounts.sign_in, str(form.get("username") or ""),
                                         str(form.get("password") or ""), ip)
        if result.outcome == "rate_limited":
            return _login_page(request, settings, target, 429,
                               f"Too many failed sign-ins. For your security, try again in "
                               f"{result.retry_after_minutes} minute{'s' if result.retry_after_minutes != 1 else ''}.")
        if result.outcome != "signed_in":
            return _login_page(request, settings, target, 401,
                               "The username or password is not right. Check them and try again.")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, result.token, httponly=True, samesite="lax", path="/",
                            secure=settings.cookie_secure(request), max_age=int(accounts.SESSION_MAX.total_seconds()))
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return response

    @app.post("/logout")
    async def logout(request: Request):
        session = await run_in_threadpool(current_session, request)
        form = await read_form(request, max_files=0, max_fields=5)
        check_csrf(session, form)
        await run_in_threadpool(accounts.sign_out, session, client_ip(request))
        response = RedirectResponse("/login?signed_out=1", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response


def _safe_next(target: str) -> str:
    """Only a path on this site (no scheme, no host, no '//' or backslash tricks)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target or "\n" in target:
        return "/"
    return target


def _login_page(request: Request, settings: Settings, target: str, status_code: int = 200,
                error: str | None = None) -> Response:
    token, cookie = new_login_csrf(settings)
    response = render(request, "login.html", status_code, login_csrf=token, next=_safe_next(target), error=error,
                      signed_out=request.query_params.get("signed_out") == "1")
    response.set_cookie(LOGIN_CSRF_COOKIE, cookie, httponly=True, samesite="strict", path="/login",
                        secure=settings.cookie_secure(request), max_age=3600)
    return response
