"""The federal desk's decisions from the portal: approve a province-month, return it with a reason, or
grant a time-limited unlock. The decisions are those of loaders.approval (the same as `cop month ...`);
each one, and each refusal, also goes to the portal's audit log."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from loaders import approval
from cop.period import PeriodError, format_period, parse_period
from cop.registry import load_registry
from portal import accounts
from portal.web import Refused, check_csrf, client_ip, federal_user

router = APIRouter()
ACTIONS = ("approve", "return", "unlock")


@router.post("/provinces/{code}/months/{period}/review")
async def review(request: Request, code: str, period: str) -> Response:
    session = await run_in_threadpool(federal_user, request)  # a province account is refused before reading
    form = await request.form(max_files=0, max_fields=10, max_part_size=5_000)
    return await run_in_threadpool(_review, request, session, code, period, form)


def _review(request: Request, session: accounts.Session, code: str, period: str, form) -> Response:
    check_csrf(session, form)
    if code not in load_registry().province_codes:
        raise Refused("There is no such province.", status_code=404, audit_action="access.unknown_province")
    try:
        month = parse_period(period)
    except PeriodError:
        raise Refused(f"'{period[:20]}' is not a month written as YYYY-MM.", status_code=404,
                      audit_action="access.bad_month") from None
    action = str(form.get("action") or "")
    if action not in ACTIONS:
        raise Refused("Choose approve, return or unlock.", status_code=400, audit_action="review.refused")
    reason = str(form.get("reason") or "")[:2000]
    now = request.app.state.settings.clock()
    detail = {"province": code, "period": format_period(month), "action": action, "reason": reason or None}
    try:
        state = _decide(action, code, month, session.user.username, reason, form, now)
    except approval.ReviewRefused as exc:
        accounts.audit(None, session.user.username, "review.refused", detail | {"why": str(exc)}, client_ip(request))
        from portal.province import month_view

        return month_view(request, code, format_period(month), error=str(exc)[0].upper() + str(exc)[1:] + ".",
                          status_code=409)
    accounts.audit(None, session.user.username, f"review.{action}",
                   detail | {"version": state.current_version, "unlocked_until": state.unlocked_until},
                   client_ip(request))
    return RedirectResponse(f"/provinces/{code}/months/{format_period(month)}", status_code=303)


def _decide(action: str, code: str, month, reviewer: str, reason: str, form, now) -> approval.MonthState:
    if action == "approve":
        return approval.approve(code, month, reviewer, note=reason or None, at=now)
    if action == "return":
        return approval.return_month(code, month, reviewer, reason, at=now)
    try:
        days = int(str(form.get("days") or "7"))
    except ValueError:
        raise approval.ReviewRefused("the unlock needs a number of days") from None
    return approval.unlock(code, month, reviewer, reason, days=days, at=now)
