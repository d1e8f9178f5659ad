"""The federal desk's decisions on the portal: a reviewer returns a month with a reason, the province
reads it on its home, month, receipt and history pages and resubmits, the reviewer approves and the
month locks; provinces cannot decide, nonsense decisions are refused with a reason, all audited."""
from __future__ import annotations

import datetime as dt
import html
import re

from portal_helpers import MONTH, csrf_of, good_file, upload

REASON = "Rows for Karachi South show 0 FIRs in every crime category: please check & resend"
MONTH_PAGE = f"/provinces/SD/months/{MONTH:%Y-%m}"


def decide(client, action: str, reason: str = "", period: str = f"{MONTH:%Y-%m}", **extra):
    token = csrf_of(client, f"/provinces/SD/months/{period}")
    return client.post(f"/provinces/SD/months/{period}/review",
                       data={"csrf_token": token, "action": action, "reason": reason, **extra})


def submission_of(response) -> int:
    assert response.status_code == 303, response.text[:400]
    return int(re.fullmatch(r"/submissions/(\d+)", response.headers["location"]).group(1))


def test_a_returned_month_shows_its_reason_to_the_province_and_locks_once_approved(signed_in, portal_conn):
    clerk, reviewer = signed_in("sd_clerk"), signed_in("reviewer")
    first = submission_of(upload(clerk, "SD", good_file("SD", seed=11)))

    page = reviewer.get(MONTH_PAGE).text
    assert "Received, awaiting review" in page and "Return to the province" in page and "Approve version" in page
    assert decide(reviewer, "return", REASON).status_code == 303

    for path in ("/provinces/SD", MONTH_PAGE, f"/submissions/{first}", "/provinces/SD/submissions"):
        seen = clerk.get(path)
        assert seen.status_code == 200 and html.escape(REASON) in seen.text, path
    assert "Returned by the federal desk" in clerk.get(MONTH_PAGE).text

    submission_of(upload(clerk, "SD", good_file("SD", seed=12)))
    assert html.escape(REASON) not in clerk.get("/provinces/SD").text  # the resubmission awaits review
    assert decide(reviewer, "approve").status_code == 303
    month = clerk.get(MONTH_PAGE).text
    assert "Approved" in month and "Locked" in month and "Upload a file for" not in month

    refused = upload(clerk, "SD", good_file("SD", seed=13))
    assert refused.status_code == 400
    assert "is locked because the federal desk approved it" in html.unescape(refused.text)
    assert upload(clerk, "SD", good_file("SD", seed=13), action="check").status_code == 303  # check-only still works

    actions = [row[0] for row in portal_conn.execute(
        "select action from portal.audit_log where action like 'review.%' order by audit_id")]
    assert actions == ["review.return", "review.approve"]
    matrix = reviewer.get(f"/federal?end={MONTH:%Y-%m}").text
    assert "✔ approved" in matrix and "approve by reviewer" in matrix


def test_provinces_cannot_decide_and_nonsense_is_refused_with_a_reason(signed_in, portal_conn):
    clerk, reviewer = signed_in("sd_clerk"), signed_in("reviewer")
    token = csrf_of(clerk, MONTH_PAGE)
    forbidden = clerk.post(f"{MONTH_PAGE}/review", data={"csrf_token": token, "action": "approve"})
    assert forbidden.status_code == 403 and "federal reviewers only" in forbidden.text

    missing = decide(reviewer, "approve", period="2026-09")
    assert missing.status_code == 409
    assert "no return has been received for it" in missing.text
    no_reason = decide(reviewer, "unlock", period="2026-09")
    assert no_reason.status_code == 409 and "An unlock needs a reason the province can read" in no_reason.text
    not_locked = decide(reviewer, "unlock", "to fix a typo", period="2026-09")
    assert not_locked.status_code == 409 and "SD 2026-09 is not locked" in not_locked.text
    assert portal_conn.execute("select count(*) from portal.audit_log where action = 'review.refused'"
                               ).fetchone()[0] >= 2
