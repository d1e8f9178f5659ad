"""Stories from the field in the portal: the right template for each month's form version, narratives shown
escaped and isolated, and federal reviewers marking stories publishable (never one that looks like it holds
personal data), with every decision in review.story_decisions and the audit log; a real Chromium renders the
page and no script in a story runs."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from cop.spec import load_amendment, load_form
from loaders.sample import encode_return, sample_return
from portal_helpers import MONTH, browser_sign_in, csrf_of, submit_at
from test_browser import Shots, browser, portal_url  # noqa: F401 (fixtures)

pytestmark = pytest.mark.xdist_group("portal_stories")

V2 = load_form().versions[1].start
SCRIPT = "<script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\">Theekri pehra at night"
CNIC_STORY = "=HYPERLINK(\"http://x\") The complainant, CNIC 35202-1234567-1, got her motorcycle back."
URDU = "\u202eاصلاحی کمیٹی نے گیارہ سال پرانا تنازعہ حل کرایا\u202c اور دونوں خاندانوں نے معاہدہ کیا۔"
TEXTS = {"IC-ISB-001": ("success_story", SCRIPT), "IC-ISB-002": ("success_story", CNIC_STORY),
         "IC-ISB-003": ("achievement", URDU)}


@pytest.fixture(scope="module")
def stories_month(portal_database):
    amendment = load_amendment("IC")
    rows = sample_return("IC", MONTH, units=6)
    for row in rows:
        kind, text = TEXTS.get(row[amendment.header_for("unit_code")], (None, None))
        if kind:
            row[amendment.header_for(kind)] = text
    receipt = submit_at("IC", MONTH, encode_return(rows, "IC"), dt.datetime(2026, 11, 3, 9, tzinfo=dt.timezone.utc))
    assert receipt.status == "accepted", receipt.summary
    return receipt.submission_id


def test_the_receipt_shows_the_personal_data_warning_with_the_text_escaped(signed_in, stories_month):
    page = signed_in("ic_clerk").get(f"/submissions/{stories_month}").text
    assert "W310" in page and "looks like it holds a CNIC number" in page
    assert "=HYPERLINK(&#34;http://x&#34;) The complainant" in page or \
        "=HYPERLINK(&quot;http://x&quot;) The complainant" in page
    assert "<script>window.pwned" not in page


def decide(client, unit: str, publishable: str):
    page = client.get("/federal/stories")
    row = page.text.split(f'id="{unit}-')[1].split("</tr>")[0]
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', row))
    return client.post("/federal/stories/decide", data=fields | {"publishable": publishable})


def test_each_month_gets_the_template_of_its_form_version(signed_in):
    clerk = signed_in("ic_clerk")
    before = clerk.get("/provinces/IC/template.csv?month=2024-12").content.decode("utf-8-sig").splitlines()[0]
    after = clerk.get(f"/provinces/IC/template.csv?month={V2:%Y-%m}").content.decode("utf-8-sig").splitlines()[0]
    assert "cve_activities" not in before and "success_story" not in before
    assert "cve_activities" in after and after.endswith("achievement,challenge,success_story,ic_safe_city_alerts")
    assert "form v2" in clerk.get("/provinces/IC").text
    assert "form v1" in clerk.get("/provinces/IC?period=2024-12").text


def test_reviewers_see_stories_escaped_and_mark_them_publishable(signed_in, stories_month, portal_conn):
    reviewer = signed_in("reviewer")
    page = reviewer.get("/federal/stories").text
    assert "<script>window.pwned" not in page and "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in page
    assert "<img src=x" not in page
    assert f"<bdi>{URDU}</bdi>" in page                     # kept exactly, isolated from the page around it
    flagged = page.split('id="IC-ISB-002-')[1].split("</tr>")[0]
    assert "a CNIC number" in flagged and 'value="yes"' not in flagged   # no "publishable" button offered

    assert decide(reviewer, "IC-ISB-001", "yes").status_code == 303
    refused = decide(reviewer, "IC-ISB-002", "no")
    assert refused.status_code == 303                          # "not for publication" is always possible
    row = reviewer.get("/federal/stories").text.split('id="IC-ISB-001-')[1].split("</tr>")[0]
    assert "Publishable" in row and "reviewer" in row
    decisions = portal_conn.execute("select unit_code, publishable, actor from review.story_decisions "
                                    "order by decision_id").fetchall()
    assert decisions == [("IC-ISB-001", True, "reviewer"), ("IC-ISB-002", False, "reviewer")]
    actions = portal_conn.execute("select action from portal.audit_log where action like 'story.%'").fetchall()
    assert actions == [("story.decided",), ("story.decided",)]


def test_a_story_with_personal_data_cannot_be_published_and_provinces_cannot_decide(signed_in, stories_month,
                                                                                      portal_conn):
    reviewer = signed_in("reviewer")
    page = reviewer.get("/federal/stories")
    row = page.text.split('id="IC-ISB-002-')[1].split("</tr>")[0]
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', row))
    forced = reviewer.post("/federal/stories/decide", data=fields | {"publishable": "yes"})
    assert forced.status_code == 409 and "looks like it holds a CNIC number" in forced.text
    clerk = signed_in("ic_clerk")
    assert clerk.get("/federal/stories").status_code == 403
    assert clerk.post("/federal/stories/decide", data=fields | {"publishable": "yes",
                                                               "csrf_token": csrf_of(clerk, "/provinces/IC")}
                      ).status_code == 403
    assert not portal_conn.execute("select 1 from review.story_decisions where unit_code = 'IC-ISB-002' "
                                   "and publishable").fetchone()


@pytest.mark.browser
def test_the_stories_page_in_chromium_runs_no_script_from_a_story(browser, portal_url, stories_month, tmp_path):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    shot = Shots(page, tmp_path)
    try:
        browser_sign_in(page, portal_url, "reviewer")
        page.wait_for_url(f"{portal_url}/federal")
        page.goto(f"{portal_url}/federal/stories")
        story = page.locator('[id="IC-ISB-001-success_story"] .story')
        assert story.inner_text() == SCRIPT
        assert page.evaluate("window.pwned") is None and dialogs == []
        assert page.locator('[id="IC-ISB-003-achievement"] .story').inner_text() == URDU
        shot("stories")
    finally:
        shot.publish()
        context.close()
