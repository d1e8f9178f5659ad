"""Province pages: the province's home (its months and the upload form), the template, uploads
(check only or submit), receipts, problem files, reports and the submission history.

Whatever the URL or a form field says, a province user acts only for the province of its account
(web.ensure_province_access); federal reviewers may read every province's pages but not upload.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import unicodedata
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from loaders import approval
from cop.period import PeriodError, add_months, format_period, last_completed_month, parse_period
from cop.registry import load_registry
from cop.spec import form_for, load_amendment, load_form
from cop.template import template_bytes
from loaders.intake import MonthBusy, SubmitError, submit_file
from portal import accounts, receipts, status
from portal.problem_groups import group_problems
from portal.web import (Refused, check_csrf, client_ip, current_session, ensure_province_access, province_user,
                        read_form, render)

router = APIRouter()
MONTHS_OFFERED = 24
CHECKS_PER_HOUR_ENV = "COP_PORTAL_CHECKS_PER_HOUR"
CHECKS_PER_HOUR = 60  # a clerk fixing a file checks it a few times an hour, not sixty
TEMPLATE_TYPES = {"csv": "text/csv; charset=utf-8",
                  "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _known_province(code: str) -> str:
    if code not in load_registry().province_codes:  # exact: a URL's province is upper case
        raise Refused("There is no such province.", status_code=404, audit_action="access.unknown_province",
                      detail={"asked_for": code[:20]})
    return code


def _month(text: str) -> dt.date:
    try:
        return parse_period(text)
    except PeriodError:
        raise Refused(f"'{text[:20]}' is not a month written as YYYY-MM.", status_code=404,
                      audit_action="access.bad_month") from None


def months_offered(now: dt.datetime, selected: dt.date | None = None) -> list[dt.date]:
    last = last_completed_month(now.date())
    months = [add_months(last, -i) for i in range(MONTHS_OFFERED)]
    if selected and selected not in months and selected <= last:
        months.append(selected)
    return months


def safe_display_name(file_name: str | None) -> str:
    """The uploaded file's name, for display and the submission record only: never used as a path."""
    name = re.split(r"[\\/]", file_name or "")[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    return name.strip()[:200] or "upload"


# ---------------------------------------------------------------- the province home


@router.get("/provinces/{code}")
def province_home(request: Request, code: str, period: str | None = None):
    session = current_session(request)
    code = _known_province(code)
    ensure_province_access(session, code)
    return _home(request, code, period=period)


def _home(request: Request, code: str, period: str | None = None, error: str | None = None,
          status_code: int = 200) -> Response:
    now = request.app.state.settings.clock()
    selected = None
    if period:
        try:
            selected = parse_period(period)
        except PeriodError:
            selected = None
    months = months_offered(now, selected)
    matrix = status.status_matrix(months[0], 12, now, [code])
    amendment = load_amendment(code)
    selected = selected or months[0]
    return render(request, "province_home.html", status_code, province=load_registry().province(code),
                  amendment=amendment, months=months, selected=selected, selected_form=form_for(selected),
                  latest_start=load_form().versions[-1].start,
                  cells=list(reversed(matrix.provinces[0].cells)), error=error,
                  max_mb=load_form().limits.max_file_bytes / 1_000_000)


# ---------------------------------------------------------------- the template


@router.get("/provinces/{code}/template.{fmt}")
def template(request: Request, code: str, fmt: str, month: str | None = None):
    session = current_session(request)
    code = _known_province(code)
    ensure_province_access(session, code, "template")
    if fmt not in TEMPLATE_TYPES:
        raise Refused("Templates come as csv or xlsx.", status_code=404, audit_action="access.bad_format")
    prefill = _month(month) if month else None
    content = template_bytes(code, fmt, prefill)
    name = f"COP-return-{code}" + (f"-{format_period(prefill)}" if prefill else "") + f".{fmt}"
    accounts.audit(None, session.user.username, "download.template",
                   {"province": code, "format": fmt, "month": month}, client_ip(request))
    return Response(content, media_type=TEMPLATE_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# ---------------------------------------------------------------- upload


@router.post("/provinces/{code}/upload")
async def upload(request: Request, code: str):
    # Only the streaming of the form is async; the checks, the intake and the database work run in
    # the thread pool, so that one province's validation never stalls another's page.
    session = await run_in_threadpool(_uploader, request, code)  # refused before the file is read
    limits = load_form().limits
    form = await read_form(request, max_files=1, max_fields=10, max_part_size=10_000)
    upload_file = form.get("file")
    content = await upload_file.read(limits.max_file_bytes + 1) if isinstance(upload_file, UploadFile) else None
    file_name = upload_file.filename if isinstance(upload_file, UploadFile) else None
    await form.close()  # the spooled temporary file goes now; only the bytes go on, to the intake
    return await run_in_threadpool(_upload, request, session, code, form, content, file_name)


def _uploader(request: Request, code: str) -> accounts.Session:
    session = province_user(request)
    ensure_province_access(session, _known_province(code), "uploads")
    return session


def _upload(request: Request, session: accounts.Session, code: str, form, content: bytes | None,
            file_name: str | None) -> Response:
    check_csrf(session, form)
    declared = str(form.get("province") or code).strip().upper()
    if declared != session.user.province_code:
        raise Refused(f"The form said province '{declared[:10]}', but your account belongs to "
                      f"{session.user.province_code}. Nothing was uploaded.", audit_action="upload.refused",
                      detail={"reason": "forged province", "form_province": declared[:10]})
    action = form.get("action")
    period_text = str(form.get("period") or "")
    if action not in ("check", "submit"):
        return _home(request, code, period_text, "Choose 'Check the file only' or 'Submit the return'.", 400)
    try:
        month = parse_period(period_text)
    except PeriodError:
        return _home(request, code, None, "Choose the month the return is for.", 400)
    if content is None or not file_name:
        return _home(request, code, period_text, "Choose the file to upload first (CSV or Excel).", 400)
    limit = load_form().limits.max_file_bytes
    if len(content) > limit:
        raise Refused(f"The file is larger than the limit of {limit / 1_000_000:g} MB.",
                      status_code=413, audit_action="upload.refused", detail={"reason": "too large"})
    if action == "check":
        _limit_checks(session)
    return _submit(request, session, code, month, content, safe_display_name(file_name), dry_run=action == "check")


def _limit_checks(session: accounts.Session) -> None:
    """'Check only' saves nothing, so nothing else stops a script from checking files in a loop and taking
    the verdict workers from every other province: a limit per account and hour."""
    allowed = int(os.environ.get(CHECKS_PER_HOUR_ENV) or CHECKS_PER_HOUR)
    if receipts.checks_since(session.user.username, dt.timedelta(hours=1)) >= allowed:
        raise Refused(f"You have checked {allowed} files in the last hour, the most the portal takes from one "
                      f"account. Try again later, or submit the return.", status_code=429,
                      audit_action="upload.refused", detail={"reason": "check rate limit", "per_hour": allowed})


def _submit(request: Request, session: accounts.Session, code: str, month: dt.date, content: bytes, file_name: str,
            dry_run: bool) -> Response:
    now = request.app.state.settings.clock()
    try:
        receipt = submit_file(content, file_name, code, month, session.user.username, channel="portal",
                              received_at=now, dry_run=dry_run)
    except SubmitError as exc:
        accounts.audit(None, session.user.username, "upload.refused",
                       {"province": code, "period": format_period(month), "file_name": file_name,
                        "reason": str(exc)}, client_ip(request))
        return _home(request, code, format_period(month), str(exc), 400)
    except MonthBusy as exc:
        accounts.audit(None, session.user.username, "upload.busy",
                       {"province": code, "period": format_period(month), "file_name": file_name}, client_ip(request))
        response = _home(request, code, format_period(month), str(exc), 409)
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
        return response
    detail = {"province": code, "period": format_period(month), "file_name": file_name, "bytes": len(content),
              "sha256": receipt.sha256, "status": receipt.status, "submission_id": receipt.submission_id,
              "version": receipt.version, "errors": receipt.error_count, "warnings": receipt.warning_count}
    if dry_run:
        check_id = receipts.record_check(receipt, session.user.username)
        accounts.audit(None, session.user.username, "upload.check", detail | {"check_id": check_id},
                       client_ip(request))
        return RedirectResponse(f"/checks/{check_id}", status_code=303)
    accounts.audit(None, session.user.username, "upload.submit", detail, client_ip(request))
    return RedirectResponse(f"/submissions/{receipt.submission_id}", status_code=303)


# ---------------------------------------------------------------- receipts and their files


def _owned_submission(request: Request, submission_id: int) -> tuple[accounts.Session, receipts.SubmissionView]:
    session = current_session(request)
    view = receipts.submission(submission_id)
    if view is None:
        raise Refused("There is no such submission.", status_code=404, audit_action="access.unknown_submission",
                      detail={"submission_id": submission_id})
    ensure_province_access(session, view.province_code, "submissions")
    return session, view


@router.get("/submissions/{submission_id}")
def receipt_page(request: Request, submission_id: int):
    session, view = _owned_submission(request, submission_id)
    problems = receipts.problems_of(submission_id)
    cell = status.month_cell(view.province_code, view.month, request.app.state.settings.clock())
    runs = status.pipeline_runs_for([view]) if session.user.is_federal else {}
    return render(request, "receipt.html", submission=view, check=None, cell=cell,
                  province=load_registry().province(view.province_code), run=runs.get(submission_id),
                  **_problem_context(problems, receipts.problem_counts(submission_id)),
                  base=f"/submissions/{submission_id}")


@router.get("/submissions/{submission_id}/{name}")
def submission_file(request: Request, submission_id: int, name: str):
    session, view = _owned_submission(request, submission_id)
    return _download(request, session, receipts.submission_file(view, _file_name(name)),
                     f"COP-{view.province_code}-{view.period}-submission-{submission_id}", name,
                     {"submission_id": submission_id, "province": view.province_code, "period": view.period})


@router.get("/checks/{check_id}")
def check_page(request: Request, check_id: str):
    session, view = _owned_check(request, check_id)
    return render(request, "receipt.html", submission=None, check=view, cell=None,
                  province=load_registry().province(view.province_code), run=None,
                  **_problem_context(view.problems(), view.counts()), base=f"/checks/{check_id}")


@router.get("/checks/{check_id}/{name}")
def check_file(request: Request, check_id: str, name: str):
    session, view = _owned_check(request, check_id)
    return _download(request, session, receipts.check_file(view, _file_name(name)),
                     f"COP-{view.province_code}-{view.period}-check", name,
                     {"check_id": check_id, "province": view.province_code, "period": view.period})


def _download(request: Request, session: accounts.Session, found: Path | None, download_stem: str, name: str,
              about: dict) -> Response:
    """A receipt's file as a download, and an audit line saying who took it."""
    response = _file_response(found, download_stem, name)
    _audit_download(request, session, {**about, "file": _file_name(name)})
    return response


def _audit_download(request: Request, session: accounts.Session, detail: dict) -> None:
    """Problem files and reports name police stations and their figures: who fetched which goes to the log."""
    action = "download.report" if detail["file"] == "report.html" else "download.problems"
    accounts.audit(None, session.user.username, action, detail, client_ip(request))


def _owned_check(request: Request, check_id: str) -> tuple[accounts.Session, receipts.CheckView]:
    session = current_session(request)
    view = receipts.check(check_id)
    if view is None:
        raise Refused("There is no such check.", status_code=404, audit_action="access.unknown_check")
    ensure_province_access(session, view.province_code, "checks")
    return session, view


def _file_name(name: str) -> str:
    return {"report": "report.html"}.get(name, name)


def _file_response(path: Path | None, stem: str, name: str) -> Response:
    if path is None:
        raise Refused("That file does not exist.", status_code=404, audit_action="access.unknown_file")
    if path.name == "report.html":
        return FileResponse(path, media_type=receipts.FILES[path.name])
    return FileResponse(path, media_type=receipts.FILES[path.name], filename=f"{stem}-{path.name}")


def _problem_context(problems: list[receipts.ProblemRow], counts: list) -> dict:
    """The receipt's problems grouped by rule (portal/problem_groups.py), errors and warnings apart."""
    errors, warnings = group_problems(problems, counts, "error"), group_problems(problems, counts, "warning")
    return {"error_groups": errors, "warning_groups": warnings,
            "error_total": sum(g.total for g in errors), "warning_total": sum(g.total for g in warnings)}


# ---------------------------------------------------------------- history


@router.get("/provinces/{code}/submissions")
def history(request: Request, code: str):
    session = current_session(request)
    code = _known_province(code)
    ensure_province_access(session, code, "submissions")
    return render(request, "history.html", province=load_registry().province(code),
                  submissions=receipts.submissions_of(code),
                  returned=approval.returned_months(code, request.app.state.settings.clock()))


@router.get("/provinces/{code}/months/{period}")
def month_page(request: Request, code: str, period: str):
    return month_view(request, code, period)


def month_view(request: Request, code: str, period: str, error: str | None = None, status_code: int = 200) -> Response:
    """The month page; `error` is a refused review decision, shown above its forms."""
    session = current_session(request)
    code = _known_province(code)
    ensure_province_access(session, code, "months")
    month = _month(period)
    cell = status.month_cell(code, month, request.app.state.settings.clock())
    submissions = receipts.submissions_of(code, month)
    runs = status.pipeline_runs_for(submissions) if session.user.is_federal else {}
    return render(request, "month.html", status_code, province=load_registry().province(code), cell=cell,
                  submissions=submissions, runs=runs, log=approval.month_log(code, month), error=error,
                  max_unlock_days=approval.MAX_UNLOCK_DAYS)
