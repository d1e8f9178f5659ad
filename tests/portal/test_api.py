"""The portal through its HTTP API (FastAPI TestClient) on a real PostgreSQL and the real intake:
sign-in, templates, uploads (rejected, fixed, accepted, duplicate, revised), the federal screens,
and every way a province user might reach another province's data."""
from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest

from cop.spec import load_amendment, load_form
from portal_helpers import (MONTH, PASSWORD, client_for, csrf_of, good_file, good_file_for, sign_in, submit_at,
                            upload)
from loaders.sample import encode_return, sample_return

SD = load_amendment("SD")


def header(field: str, province: str = "SD") -> str:
    return load_amendment(province).header_for(field)


def bad_sd_file() -> bytes:
    """15 Sindh stations (Urdu headers) with three blocking mistakes."""
    records = sample_return("SD", MONTH, units=15)
    records[1][header("female_officers_posted")] = int(records[1][header("officers_posted")]) + 5
    records[3][header("burglary")] = -2
    records[4][header("unit_code")] = "SD-XXX-999"
    return encode_return(records, "SD")


def submission_id_of(response) -> int:
    assert response.status_code == 303, response.text[:500]
    match = re.fullmatch(r"/submissions/(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


def audit_actions(conn, username: str) -> list[str]:
    return [row[0] for row in conn.execute("select action from portal.audit_log where username = %s "
                                           "order by audit_id", (username,))]


# ---------------------------------------------------------------- sign-in


def test_sign_in_sets_a_protected_session_cookie_and_is_audited(app, portal_conn):
    with client_for(app) as client:
        assert client.get("/provinces/SD").status_code == 303  # to the sign-in page
        assert sign_in(client, "sd_clerk", "not the password").status_code == 401
        response = sign_in(client, "SD_Clerk")
        assert response.status_code == 303 and response.headers["location"] == "/"
        cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith("cop_session="))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert client.get("/").headers["location"] == "/provinces/SD"
        home = client.get("/provinces/SD")
        assert home.status_code == 200 and "Sindh: monthly COP return" in home.text
        assert "script-src 'none'" in home.headers["content-security-policy"]
        assert home.headers["x-frame-options"] == "DENY" and home.headers["cache-control"] == "no-store"
    actions = audit_actions(portal_conn, "sd_clerk")
    assert "sign_in.failed" in actions and "sign_in" in actions


def test_secure_cookie_flag_when_configured(portal_database):
    from portal.app import create_app

    with client_for(create_app(secure_cookies=True)) as client:
        cookie = sign_in(client, "ic_clerk").headers["set-cookie"]
        assert "Secure" in cookie


def test_sign_in_form_needs_its_csrf_token(app):
    with client_for(app) as client:
        response = client.post("/login", data={"username": "sd_clerk", "password": PASSWORD, "csrf_token": "forged"})
        assert response.status_code == 400 and "cop_session" not in response.headers.get("set-cookie", "")


def test_sign_in_is_rate_limited_per_username_and_ip(app, portal_conn):
    from portal.accounts import add_user

    add_user("limited", PASSWORD, "province", "GB")
    with client_for(app) as client:
        for _ in range(5):
            assert sign_in(client, "limited", "wrong password").status_code == 401
        refused = sign_in(client, "limited")  # even the right password, while locked
        assert refused.status_code == 429 and "Too many failed sign-ins" in refused.text
    assert "sign_in.rate_limited" in audit_actions(portal_conn, "limited")


def test_sign_out_ends_the_session(signed_in):
    client = signed_in("ic_clerk")
    token = csrf_of(client, "/provinces/IC")
    assert client.post("/logout", data={"csrf_token": "wrong"}).status_code == 403
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/provinces/IC").status_code == 303


def test_disabled_user_cannot_sign_in(app):
    from portal.accounts import add_user, set_disabled

    add_user("leaver", PASSWORD, "federal")
    set_disabled("leaver", True)
    with client_for(app) as client:
        assert sign_in(client, "leaver").status_code == 401


# ---------------------------------------------------------------- templates


def test_template_download_uses_the_province_headers(signed_in):
    client = signed_in("sd_clerk")
    response = client.get("/provinces/SD/template.csv")
    assert response.status_code == 200 and 'filename="COP-return-SD.csv"' in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [c.header for c in SD.columns(load_form())] and "صوبہ" in rows[0]

    prefilled = client.get("/provinces/SD/template.xlsx?month=2026-10")
    sheet = openpyxl.load_workbook(io.BytesIO(prefilled.content)).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == [c.header for c in SD.columns(load_form())]
    assert len(values) > 100 and values[1][3] == "2026-10"
    assert client.get("/provinces/SD/template.pdf").status_code == 404


# ---------------------------------------------------------------- uploads


def test_rejected_then_checked_then_accepted_then_duplicate_then_revised(signed_in, portal_conn):
    client = signed_in("sd_clerk")

    rejected_id = submission_id_of(upload(client, "SD", bad_sd_file(), file_name="sindh-october.csv"))
    page = client.get(f"/submissions/{rejected_id}")
    assert page.status_code == 200 and "Rejected: Sindh, October 2026" in page.text
    assert "Nothing from this" in page.text and "file was saved" in page.text
    # Every problem on the page, with the row and the column as Sindh named them (Urdu headers).
    for column in (header("female_officers_posted"), header("burglary"), header("unit_code")):
        assert f"<code><bdi>{column}</bdi></code>" in page.text
    assert "SD-XXX-999" in page.text and "<code><bdi>-2</bdi></code>" in page.text
    # Grouped by rule: each rule once with its count and how to fix it, its examples under it.
    assert 'id="rule-E042"' in page.text and page.text.count(load_form().rules["E042"].fix) == 1
    problems = client.get(f"/submissions/{rejected_id}/problems.csv")
    assert problems.status_code == 200 and "attachment" in problems.headers["content-disposition"]
    assert "E042" in problems.content.decode("utf-8-sig")
    assert client.get(f"/submissions/{rejected_id}/problems.xlsx").status_code == 200
    report = client.get(f"/submissions/{rejected_id}/report")
    assert report.status_code == 200 and "Validation report" in report.text
    assert report.headers["content-security-policy"].startswith("default-src 'none'")  # no script can run
    assert client.get(f"/submissions/{rejected_id}/landed.csv").status_code == 404
    assert portal_conn.execute("select count(*) from raw.return_rows where submission_id = %s",
                               (rejected_id,)).fetchone()[0] == 0

    # Check only: the verdict, nothing saved.
    before = portal_conn.execute("select count(*) from raw.submissions").fetchone()[0]
    checked = upload(client, "SD", good_file("SD", units=15), action="check")
    assert checked.status_code == 303 and checked.headers["location"].startswith("/checks/")
    check_page = client.get(checked.headers["location"])
    assert "This file has no errors" in check_page.text and "It has not been sent yet" in check_page.text
    assert client.get(checked.headers["location"] + "/problems.csv").status_code == 200  # the warnings
    assert portal_conn.execute("select count(*) from raw.submissions").fetchone()[0] == before

    fixed = good_file("SD", units=15)
    accepted_id = submission_id_of(upload(client, "SD", fixed, file_name="sindh-october-fixed.csv"))
    page = client.get(f"/submissions/{accepted_id}")
    assert "Accepted: Sindh, October 2026" in page.text and "version 2" in page.text
    assert "It is now the official return for this month" in page.text and "received on time" in page.text
    assert portal_conn.execute("select channel, submitted_by from raw.submissions where submission_id = %s",
                               (accepted_id,)).fetchone() == ("portal", "sd_clerk")

    duplicate_id = submission_id_of(upload(client, "SD", fixed, file_name="again.csv"))
    page = client.get(f"/submissions/{duplicate_id}")
    assert "Already received" in page.text and f"submission {accepted_id}" in page.text

    revised_id = submission_id_of(upload(client, "SD", good_file("SD", seed=1, units=15)))
    page = client.get(f"/submissions/{revised_id}")
    assert "version 3" in page.text and f"It replaces submission {accepted_id}" in page.text
    assert "A later version" in client.get(f"/submissions/{accepted_id}").text

    history = client.get("/provinces/SD/submissions").text
    for submission_id in (rejected_id, accepted_id, duplicate_id, revised_id):
        assert f"/submissions/{submission_id}\"" in history
    month = client.get("/provinces/SD/months/2026-10").text
    assert "On time" in month and "revised: 2 accepted versions" in month

    actions = audit_actions(portal_conn, "sd_clerk")
    assert actions.count("upload.submit") >= 4 and "upload.check" in actions


def test_federal_status_problems_and_submissions(signed_in):
    province = signed_in("ic_clerk")
    submission_id_of(upload(province, "IC", b"unit_code\nIC-XXX-1\n", file_name="wrong.csv"))
    submission_id_of(upload(province, "IC", good_file("IC")))
    federal = signed_in("reviewer")
    assert federal.get("/").headers["location"] == "/federal"
    matrix = federal.get("/federal?end=2026-10&months=6")
    assert matrix.status_code == 200
    row = re.search(r"Islamabad Capital Territory.*?</tr>", matrix.text, re.S).group(0)
    cells = re.findall(r'class="cell cell-(\w+)"', row)
    assert cells[-1] == "on_time" and cells[:-1] == ["missing"] * 5
    assert "27/27" in row
    problems = federal.get("/federal/problems?end=2026-10&months=12")
    assert problems.status_code == 200 and "Required column missing" in problems.text
    listing = federal.get("/federal/submissions?province=IC")
    assert listing.status_code == 200 and "portal upload" in listing.text
    audit = federal.get("/federal/audit")
    assert "upload.submit" in audit.text and "sign_in" in audit.text


def test_status_matrix_states(portal_conn):
    """Late, rejected, missing and not yet due, straight from the library."""
    import datetime as dt

    from portal import status

    submit_at("GB", dt.date(2026, 8, 1), good_file_for("GB", dt.date(2026, 8, 1)), dt.datetime(2026, 9, 20, tzinfo=dt.timezone.utc))
    submit_at("GB", dt.date(2026, 9, 1), b"not a return", dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc))
    now = dt.datetime(2026, 11, 5, tzinfo=dt.timezone.utc)
    cells = {c.period: c for c in status.status_matrix(dt.date(2026, 10, 1), 4, now, ["GB"]).provinces[0].cells}
    assert cells["2026-07"].state == "missing"
    assert cells["2026-08"].state == "late" and cells["2026-08"].units_reported == cells["2026-08"].units_expected
    assert cells["2026-09"].state == "rejected" and cells["2026-09"].rejected_files == 1
    assert cells["2026-10"].state == "not_due"


def test_upload_needs_the_csrf_token(signed_in, portal_conn):
    client = signed_in("sd_clerk")
    before = portal_conn.execute("select count(*) from raw.submissions").fetchone()[0]
    response = upload(client, "SD", good_file("SD", units=5), csrf="not-the-token")
    assert response.status_code == 403 and "form has expired" in response.text
    assert portal_conn.execute("select count(*) from raw.submissions").fetchone()[0] == before
    assert "csrf.refused" in audit_actions(portal_conn, "sd_clerk")


def test_upload_over_the_size_limit_is_refused_while_streaming(signed_in, portal_conn):
    client = signed_in("ic_clerk")
    before = portal_conn.execute("select count(*) from raw.submissions").fetchone()[0]
    too_big = b"a,b\n" * (load_form().limits.max_file_bytes // 4 + 1)
    response = upload(client, "IC", too_big)
    assert response.status_code == 413 and "larger than the limit" in response.text
    assert portal_conn.execute("select count(*) from raw.submissions").fetchone()[0] == before


def test_file_names_are_never_paths(signed_in, portal_conn, cop_home):
    client = signed_in("ic_clerk")
    submission_id = submission_id_of(upload(client, "IC", good_file("IC", seed=3), file_name="../../../etc/cop.csv"))
    landed, name = portal_conn.execute("select landed_path, file_name from raw.submissions where submission_id = %s",
                                       (submission_id,)).fetchone()
    assert name == "cop.csv" and str(cop_home) in landed and ".." not in landed


# ---------------------------------------------------------------- isolation


@pytest.fixture(scope="module")
def ic_records(app):
    """A rejected IC submission and an IC check, made by the IC clerk."""
    with client_for(app) as client:
        sign_in(client, "ic_clerk")
        submission_id = submission_id_of(upload(client, "IC", b"unit_code\nIC-XXX-1\n", file_name="bad.csv"))
        check_path = upload(client, "IC", good_file("IC"), action="check").headers["location"]
    return submission_id, check_path


@pytest.mark.parametrize("path", [
    "/provinces/IC", "/provinces/IC/months/2026-10", "/provinces/IC/submissions", "/provinces/IC/template.csv",
    "/submissions/{id}", "/submissions/{id}/problems.csv", "/submissions/{id}/problems.xlsx",
    "/submissions/{id}/report", "{check}", "{check}/problems.csv", "{check}/report",
    "/federal", "/federal/problems", "/federal/submissions", "/federal/audit",
])
def test_a_province_user_cannot_read_another_province(signed_in, ic_records, portal_conn, path):
    client = signed_in("sd_clerk")
    submission_id, check_path = ic_records
    url = path.format(id=submission_id, check=check_path)
    response = client.get(url)
    assert response.status_code == 403, url
    assert "Not allowed" in response.text and "IC-XXX-1" not in response.text
    denied = portal_conn.execute("select detail->>'path' from portal.audit_log where username = 'sd_clerk' "
                                 "and action = 'access.denied' order by audit_id desc limit 1").fetchone()[0]
    assert denied == url.split("?")[0]


def test_a_province_user_cannot_submit_for_another_province(signed_in, portal_conn):
    client = signed_in("sd_clerk")
    count = "select count(*) from raw.submissions where province_code = 'IC'"
    before = portal_conn.execute(count).fetchone()[0]
    # Another province's upload URL (the form field says IC too).
    response = upload(client, "IC", good_file("IC", seed=9), home="/provinces/SD")
    assert response.status_code == 403
    # Its own URL, the province field forged.
    response = upload(client, "SD", good_file("IC", seed=9), form_province="IC")
    assert response.status_code == 403 and "Nothing was uploaded" in response.text
    assert portal_conn.execute(count).fetchone()[0] == before
    refused = portal_conn.execute("select detail from portal.audit_log where username = 'sd_clerk' and "
                                  "action = 'upload.refused' order by audit_id desc limit 1").fetchone()[0]
    assert refused["form_province"] == "IC"


def test_federal_reviewers_read_every_province_but_do_not_upload(signed_in, ic_records):
    client = signed_in("reviewer")
    submission_id, check_path = ic_records
    assert client.get(f"/submissions/{submission_id}").status_code == 200
    assert client.get("/provinces/IC/months/2026-10").status_code == 200
    response = upload(client, "IC", good_file("IC"), home="/federal")
    assert response.status_code == 403 and "cannot upload" in response.text


def test_unknown_ids_and_provinces(signed_in):
    client = signed_in("sd_clerk")
    assert client.get("/submissions/999999").status_code == 404
    assert client.get("/submissions/not-a-number").status_code == 404
    assert client.get("/checks/00000000-0000-0000-0000-000000000000").status_code == 404
    assert client.get("/checks/../../secrets").status_code == 404
    assert client.get("/provinces/XX").status_code == 404
    assert client.get("/provinces/SD/months/2026-13").status_code == 404


def test_sign_in_redirect_stays_on_this_site(app):
    with client_for(app) as client:
        page = client.get("/login?next=https://evil.example/")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        response = client.post("/login", data={"username": "sd_clerk", "password": PASSWORD, "csrf_token": token,
                                               "next": "//evil.example/"})
        assert response.headers["location"] == "/"


def test_users_command(portal_database):
    from typer.testing import CliRunner

    from hub.cli import app as cli

    runner = CliRunner()
    result = runner.invoke(cli, ["users", "add", "kp.clerk", "--role", "province", "--province", "kp",
                                 "--name", "KP data desk", "--password-stdin"], input="a long enough password\n")
    assert result.exit_code == 0, result.output
    assert runner.invoke(cli, ["users", "add", "x1", "--role", "province", "--password-stdin"],
                         input="a long enough password\n").exit_code == 2
    assert runner.invoke(cli, ["users", "add", "x2", "--role", "federal", "--password-stdin"],
                         input="short\n").exit_code == 2
    listing = runner.invoke(cli, ["users", "list"])
    assert "kp.clerk\tprovince\tKP\tno" in listing.output
    from cop import db

    with db.connect() as conn:
        stored = conn.execute("select password_hash from portal.users where username = 'kp.clerk'").fetchone()[0]
    assert stored.startswith("$argon2id$") and "a long enough password" not in stored


def test_a_submission_links_to_the_airflow_run_that_took_it(signed_in, monkeypatch, tmp_path):
    """Files taken from a drop folder by the monthly DAG link to their run in the Airflow UI."""
    import datetime as dt

    from hub import run_review

    receipt = submit_at("AJ", MONTH, good_file_for("AJ", MONTH), dt.datetime(2026, 11, 3, tzinfo=dt.timezone.utc),
                        channel="inbox")
    monkeypatch.setenv("COP_HOME", str(tmp_path))  # a home whose runs/ holds only this run
    monkeypatch.setenv("COP_AIRFLOW_URL", "http://airflow.example:8080/")
    dag_id, run_id = "cop_monthly_returns", "scheduled__2026-11-03T13:00:00+00:00"
    run_review.record_file(dag_id, run_id, run_review.FileOutcome(
        file_name="AJ_2026-10.xlsx", province="AJ", period="2026-10", verdict="accepted",
        received_at="2026-11-03T00:00:00+00:00", submission_id=receipt.submission_id))
    run_review.write_run_summary(run_review.RunSummary(dag_id, run_id, []))
    client = signed_in("reviewer")
    link = "http://airflow.example:8080/dags/cop_monthly_returns/runs/scheduled__2026-11-03T13%3A00%3A00%2B00%3A00"
    assert link in client.get("/federal/submissions?province=AJ").text
    assert link in client.get(f"/submissions/{receipt.submission_id}").text
    assert link in client.get("/provinces/AJ/months/2026-10").text
    # The same id in another database's journal (another province and month) links nothing.
    monkeypatch.setenv("COP_HOME", str(tmp_path / "other"))
    run_review.record_file("cop_monthly_returns", "manual__other", run_review.FileOutcome(
        file_name="GB_2025-01.csv", province="GB", period="2025-01", verdict="accepted",
        received_at="2025-02-03T00:00:00+00:00", submission_id=receipt.submission_id))
    assert link not in client.get(f"/submissions/{receipt.submission_id}").text
