"""Federal pages: the status matrix (province x month), reporting rates, the problems that recur
most by rule and province, every submission with its pipeline run, and the audit log."""
from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request

from cop.period import PeriodError, add_months, format_period, parse_period
from cop.registry import load_registry
from portal import accounts, integrity, receipts, status
from portal.web import Refused, federal_user, render

router = APIRouter(prefix="/federal")
MONTH_SPANS = (6, 12, 24)


def _window(request: Request, end: str | None, months: int) -> tuple[dt.date, int]:
    if months not in MONTH_SPANS:
        months = 12
    if end:
        try:
            return parse_period(end), months
        except PeriodError:
            raise Refused(f"'{end[:20]}' is not a month written as YYYY-MM.", status_code=404,
                          audit_action="access.bad_month") from None
    return status.default_last_month(request.app.state.settings.clock()), months


@router.get("")
def status_page(request: Request, end: str | None = None, months: int = 12):
    federal_user(request)
    last, span = _window(request, end, months)
    matrix = status.status_matrix(last, span, request.app.state.settings.clock())
    screen = integrity.integrity_screen(add_months(last, -(span - 1)), last)
    return render(request, "federal_status.html", matrix=matrix, last=last, span=span, spans=MONTH_SPANS,
                  integrity=screen, integrity_labels=integrity.FLAG_LABELS,
                  earlier=format_period(add_months(last, -span)), later=format_period(add_months(last, span)),
                  labels=status.STATE_LABELS)


@router.get("/problems")
def problems_page(request: Request, end: str | None = None, months: int = 12, severity: str = "error"):
    federal_user(request)
    last, span = _window(request, end, months)
    first = add_months(last, -(span - 1))
    severity = severity if severity in ("error", "warning") else "error"
    return render(request, "federal_problems.html", rules=status.problem_counts(first, last, severity),
                  provinces=load_registry().province_codes, first=first, last=last, span=span, spans=MONTH_SPANS,
                  severity=severity)


@router.get("/integrity")
def integrity_page(request: Request, end: str | None = None, months: int = 12, province: str | None = None):
    federal_user(request)
    last, span = _window(request, end, months)
    codes = load_registry().province_codes
    province = province if province in codes else None
    screen = integrity.integrity_screen(add_months(last, -(span - 1)), last, province)
    return render(request, "federal_integrity.html", integrity=screen, integrity_labels=integrity.FLAG_LABELS,
                  provinces=codes, province=province, last=last, span=span, spans=MONTH_SPANS)


@router.get("/submissions")
def submissions_page(request: Request, province: str | None = None, period: str | None = None):
    federal_user(request)
    codes = load_registry().province_codes
    province = province if province in codes else None
    month = None
    if period:
        try:
            month = parse_period(period)
        except PeriodError:
            month = None
    submissions = receipts.all_submissions(province, month)
    return render(request, "federal_submissions.html", submissions=submissions,
                  runs=status.pipeline_runs_for(submissions), provinces=codes, province=province,
                  period=format_period(month) if month else "")


@router.get("/audit")
def audit_page(request: Request, user: str | None = None):
    federal_user(request)
    return render(request, "federal_audit.html", entries=accounts.audit_entries(300, username=user),
                  filter_user=user or "")
