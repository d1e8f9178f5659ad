"""Stories from the field for federal reviewers: the narratives of the current returns, and the decision on
which the annual report may publish (loaders.stories). Every decision and refusal goes to the audit log."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from loaders import stories
from loaders.approval import ReviewRefused
from cop.period import PeriodError, add_months, format_period, parse_period
from cop.registry import load_registry
from cop.spec import load_form
from portal import accounts, status
from portal.web import Refused, check_csrf, client_ip, federal_user, render

router = APIRouter(prefix="/federal/stories")
MONTHS_SHOWN = 3


def _month(text: str | None, default):
    if not text:
        return default
    try:
        return parse_period(text)
    except PeriodError:
        raise Refused(f"'{text[:20]}' is not a month written as YYYY-MM.", status_code=404,
                      audit_action="access.bad_month") from None


@router.get("")
def stories_page(request: Request, end: str | None = None, province: str | None = None, kind: str | None = None,
                 error: str | None = None, status_code: int = 200):
    federal_user(request)
    last = _month(end, status.default_last_month(request.app.state.settings.clock()))
    provinces = load_registry().province_codes
    province = province if province in provinces else None
    kinds = load_form().narrative_names
    kind = kind if kind in kinds else None
    found = stories.list_stories(add_months(last, -(MONTHS_SHOWN - 1)), last, province, kind)
    return render(request, "federal_stories.html", status_code, stories=found, end=format_period(last),
                  first=format_period(add_months(last, -(MONTHS_SHOWN - 1))), province=province or "",
                  provinces=provinces, kind=kind or "", kinds=kinds, error=error,
                  labels={n.name: n.label for n in load_form().narratives})


@router.post("/decide")
async def decide(request: Request) -> Response:
    session = await run_in_threadpool(federal_user, request)
    form = await request.form(max_files=0, max_fields=10, max_part_size=2_000)
    return await run_in_threadpool(_decide, request, session, form)


def _decide(request: Request, session: accounts.Session, form) -> Response:
    check_csrf(session, form)
    fields = {name: str(form.get(name) or "")[:100] for name in ("unit_code", "period", "narrative_code",
                                                                  "text_sha256", "publishable", "end")}
    month = _month(fields["period"], None)
    if month is None or fields["publishable"] not in ("yes", "no"):
        raise Refused("The decision is incomplete: reload the page and try again.", status_code=400,
                      audit_action="story.refused")
    detail = {k: fields[k] for k in ("unit_code", "period", "narrative_code", "publishable")}
    try:
        stories.decide(fields["unit_code"], month, fields["narrative_code"], fields["text_sha256"],
                       fields["publishable"] == "yes", session.user.username, at=request.app.state.settings.clock())
    except ReviewRefused as exc:
        accounts.audit(None, session.user.username, "story.refused", detail | {"why": str(exc)}, client_ip(request))
        return stories_page(request, end=fields["end"] or None, error=str(exc)[0].upper() + str(exc)[1:] + ".",
                            status_code=409)
    accounts.audit(None, session.user.username, "story.decided", detail, client_ip(request))
    return RedirectResponse(f"/federal/stories?end={fields['end'] or format_period(month)}#{fields['unit_code']}-"
                            f"{fields['narrative_code']}", status_code=303)
