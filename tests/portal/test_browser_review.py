"""In a real Chromium against a live portal: a federal reviewer opens a received month from the status
matrix and returns it with a reason; the province signs in and reads the reason on its home page, the
month page and its submission history. Screenshots in the test's tmp folder and COP_HOME/screenshots."""
from __future__ import annotations

import datetime as dt

import pytest

from portal_helpers import MONTH, NOW, browser_sign_in, good_file, submit_at
from test_browser import Shots, browser, portal_url  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser
REASON = "4 Islamabad stations report no FIRs at all in October: please check the figures and resend."


def test_a_reviewer_returns_a_month_and_the_province_reads_why(browser, portal_url, tmp_path):  # noqa: F811
    submit_at("IC", MONTH, good_file("IC", seed=4), NOW - dt.timedelta(days=1), channel="portal")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    shot = Shots(page, tmp_path)
    try:
        browser_sign_in(page, portal_url, "reviewer")
        page.wait_for_url(f"{portal_url}/federal")
        page.get_by_title("Islamabad Capital Territory, October 2026: On time; received, awaiting review").click()
        page.wait_for_url("**/provinces/IC/months/2026-10")
        assert "Received, awaiting review" in page.locator(".review-panel").inner_text()
        page.get_by_label("Why it goes back to the province (they read this)").fill(REASON)
        shot("reviewer-month-before-return")
        page.get_by_role("button", name="Return to the province").click()
        page.wait_for_url("**/provinces/IC/months/2026-10")
        assert page.get_by_role("heading", name="Returned by the federal desk").is_visible()
        assert REASON in page.locator("blockquote.reason").inner_text()
        shot("reviewer-month-returned")
        page.goto(f"{portal_url}/federal")
        assert "↩ returned" in page.get_by_title("Islamabad Capital Territory, October 2026").inner_text()
        shot("federal-status-returned")
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/login?signed_out=1")

        browser_sign_in(page, portal_url, "ic_clerk")
        page.wait_for_url(f"{portal_url}/provinces/IC")
        october = page.get_by_role("row", name="October 2026")
        assert "Returned" in october.inner_text() and REASON in october.inner_text()
        shot("province-home-returned")
        october.get_by_role("link", name="Details").click()
        page.wait_for_url("**/provinces/IC/months/2026-10")
        assert REASON in page.locator("blockquote.reason").inner_text()
        assert page.get_by_text("Please correct the file and submit it again").is_visible()
        assert page.get_by_role("button", name="Return to the province").count() == 0  # provinces cannot decide
        shot("province-month-returned")
        page.goto(f"{portal_url}/provinces/IC/submissions")
        assert REASON in page.locator(".panel-bad").inner_text()
        shot("province-history-returned")
    finally:
        shot.publish()
        context.close()
