"""The portal in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright) against a
live uvicorn: a province signs in, downloads its template, uploads a bad file, reads the problems,
uploads the fixed file and sees it accepted; a federal reviewer then sees the month on time.
Screenshots go to the test's tmp folder and COP_HOME/screenshots (the path is printed)."""
from __future__ import annotations

import csv
import io
import shutil
import socket
import threading
import time

import pytest
import uvicorn

from cop.paths import state_dir
from cop.spec import load_amendment, load_form
from portal.accounts import add_user
from loaders.sample import encode_return, sample_return
from portal_helpers import MONTH, NOW, PASSWORD, browser_sign_in

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def portal_url(portal_database):
    """The portal served by uvicorn on 127.0.0.1 in a background thread, stopped after the module."""
    from portal.app import create_app

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(clock=lambda: NOW), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the portal did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which("chromium") and not shutil.os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is missing: run scripts/system-deps.sh (make test does)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Shots:
    def __init__(self, page, folder):
        self.page, self.folder, self.taken = page, folder, []

    def __call__(self, name: str) -> None:
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)

    def publish(self):
        target = state_dir("screenshots")
        for path in self.taken:
            shutil.copy2(path, target / path.name)
        print(f"\nportal screenshots: {target} (also {self.folder})")


def _fill_template(template: bytes, mistakes: bool) -> tuple[str, bytes]:
    """The downloaded (pre-filled) template with every station's figures typed in, as a clerk would."""
    amendment = load_amendment("IC")
    text = template.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=amendment.file.delimiter))
    header, body = rows[0], rows[1:]
    figures = {r[amendment.header_for("unit_code")]: r for r in sample_return("IC", MONTH)}
    filled = [[("" if figures[row[2]][name] is None else figures[row[2]][name]) if i > 3 else row[i]
               for i, name in enumerate(header)] for row in body]
    if mistakes:
        female, officers = header.index("female_officers_posted"), header.index("officers_posted")
        filled[2][female] = int(filled[2][officers]) + 4        # more women officers than officers
        filled[5][header.index("burglary")] = "-3"              # a negative count
        filled[7][header.index("homicide")] = "two"             # words instead of a number
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *filled])
    return ("ic-october-2026.csv" if not mistakes else "ic-october-2026-draft.csv"), out.getvalue().encode()


def test_province_uploads_fixes_and_federal_sees_it_on_time(browser, portal_url, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    shot = Shots(page, tmp_path)
    try:
        page.goto(f"{portal_url}/")
        page.get_by_label("Username").fill("ic_clerk")
        page.get_by_label("Password").fill(PASSWORD)
        shot("sign-in")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{portal_url}/provinces/IC")
        assert page.get_by_role("heading", level=1).inner_text() == "Islamabad Capital Territory: monthly COP return"
        assert page.get_by_label("Which month is this return for?").input_value() == "2026-10"
        shot("province-home")

        with page.expect_download() as download:
            page.get_by_role("link", name="CSV template for October 2026").click()
        template = download.value.path().read_bytes()
        assert download.value.suggested_filename == "COP-return-IC-2026-10.csv"
        assert template.decode("utf-8-sig").splitlines()[0].split(",") == [
            c.header for c in load_amendment("IC").columns(load_form())]

        name, bad = _fill_template(template, mistakes=True)
        page.get_by_label("Your file").set_input_files(files=[{"name": name, "mimeType": "text/csv", "buffer": bad}])
        page.get_by_role("button", name="Submit the return").click()
        page.wait_for_url("**/submissions/*")
        assert "Rejected" in page.get_by_role("heading", level=1).inner_text()
        rows = page.locator("table.problems tbody tr")   # one table per rule
        problems = [rows.nth(i).inner_text() for i in range(rows.count())]
        assert any("female_officers_posted" in p and p.startswith("4") for p in problems), problems
        assert any("burglary" in p and "-3" in p and p.startswith("7") for p in problems), problems
        assert any("homicide" in p and "two" in p and p.startswith("9") for p in problems), problems
        shot("rejected-receipt")

        page.get_by_role("link", name="Upload a corrected file").click()
        name, fixed = _fill_template(template, mistakes=False)
        page.get_by_label("Your file").set_input_files(files=[{"name": name, "mimeType": "text/csv", "buffer": fixed}])
        page.get_by_role("button", name="Check the file only").click()
        page.wait_for_url("**/checks/*")
        assert "This file has no errors" in page.get_by_role("heading", level=1).inner_text()
        shot("check-only-passed")

        page.goto(f"{portal_url}/provinces/IC?period=2026-10")
        page.get_by_label("Your file").set_input_files(files=[{"name": name, "mimeType": "text/csv", "buffer": fixed}])
        page.get_by_role("button", name="Submit the return").click()
        page.wait_for_url("**/submissions/*")
        assert "Accepted" in page.get_by_role("heading", level=1).inner_text()
        assert "received on time" in page.content()
        shot("accepted-receipt")

        page.get_by_role("link", name="Submission history").click()
        assert page.locator("table.data tbody tr").count() == 2
        shot("submission-history")
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/login?signed_out=1")

        page.get_by_label("Username").fill("reviewer")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{portal_url}/federal")
        october = page.get_by_title("Islamabad Capital Territory, October 2026: On time")
        assert october.count() == 1 and "On time" in october.inner_text() and "27/27" in october.inner_text()
        shot("federal-status")
        october.click()
        page.wait_for_url("**/provinces/IC/months/2026-10")
        shot("federal-month")
        page.goto(f"{portal_url}/federal/problems")
        assert page.get_by_text("Negative number").count() >= 1
        shot("federal-problems")
    finally:
        shot.publish()
        context.close()


def _punjab_file_with_warnings() -> tuple[bytes, dict[str, int]]:
    """A full Punjab return (~700 units) that is accepted with many warnings of three kinds."""
    rows = sample_return("PB", MONTH)
    assert len(rows) >= 690
    for row in rows[:40]:                                    # W201: more disputes resolved than referred
        row["disputes_referred"], row["disputes_resolved"] = 4, 7
    for row in rows[40:70]:                                  # W303: a row of zeros
        row.update({name: 0 for name, value in row.items() if isinstance(value, (int, float))})
    kept = rows[:-12]                                        # W304: 12 units with no row
    return encode_return(kept, "PB"), {"W201": 40, "W303": 30, "W304": 12}


def test_a_700_unit_receipt_shows_its_warnings_grouped_on_one_screen(browser, portal_url, tmp_path):
    add_user("pb_clerk", PASSWORD, "province", "PB", "Punjab data desk")
    content, expected = _punjab_file_with_warnings()
    context = browser.new_context(viewport={"width": 1280, "height": 1024})   # an office desktop screen
    page = context.new_page()
    page.set_default_timeout(120_000)   # checking 700 rows on a busy machine can take a while
    shot = Shots(page, tmp_path)
    try:
        browser_sign_in(page, portal_url, "pb_clerk")
        page.wait_for_url(f"{portal_url}/provinces/PB")
        page.get_by_label("Your file").set_input_files(files=[{
            "name": "pb-october-2026.xlsx", "buffer": content,
            "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}])
        page.get_by_role("button", name="Submit the return").click()
        page.wait_for_url("**/submissions/*")
        assert "Accepted" in page.get_by_role("heading", level=1).inner_text()
        shot("punjab-receipt-first-screen")

        overview = page.locator("ul.rule-overview").first
        items = [overview.locator("li").nth(i).inner_text() for i in range(overview.locator("li").count())]
        for rule, count in expected.items():
            assert any(item.startswith(f"{count} ×") for item in items), (rule, items)
        box = overview.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 1024, box   # every rule on the first screen
        assert any(item.startswith("12 ×") and "PB-" in item for item in items)  # missing units on one line
        for group in (page.locator(f"#rule-{rule}") for rule in ("W201", "W303")):
            assert group.locator("table").first.locator("tbody tr").count() <= 5   # the worst few, then ...
            assert group.locator("details").count() == 1                           # ... the rest folded
            assert not group.locator("details").get_attribute("open")
    finally:
        shot.publish()
        context.close()
