"""Malformed requests through the real application: a NUL byte or a malformed field anywhere (path, query
parameters, form fields, file names, cookies, headers, the multipart body) gets a 400 with a plain
message and a line in the audit log, never a 500; and the portal stays up while hostile files are checked."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

from portal_helpers import MONTH, client_for, csrf_of, upload

sys.path.insert(0, str(Path(__file__).parents[1] / "intake"))
from hostile_files import HOSTILE  # noqa: E402  (the intake's hostile-file corpus)

pytestmark = pytest.mark.xdist_group("portal_request_hardening")

MALFORMED = "request.malformed"


def last_malformed(conn) -> dict | None:
    row = conn.execute("select detail, username from portal.audit_log where action = %s order by audit_id desc "
                       "limit 1", (MALFORMED,)).fetchone()
    return dict(row[0], username=row[1]) if row else None


def malformed_count(conn) -> int:
    return conn.execute("select count(*) from portal.audit_log where action = %s", (MALFORMED,)).fetchone()[0]


def assert_bad_request(conn, before: int, response, words: str = "could not be read"):
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert words in response.text
    assert malformed_count(conn) == before + 1
    detail = last_malformed(conn)
    assert detail["reason"] and "\x00" not in str(detail)


SIGNED_OUT_REQUESTS = {
    "NUL in a query parameter": lambda c: c.get("/login?next=%00"),
    "NUL inside a query parameter": lambda c: c.get("/login?next=/prov%00inces"),
    "control character in a query parameter": lambda c: c.get("/login?next=%1b[2J"),
    "query that is not UTF-8": lambda c: c.get("/login?next=%ff%fe"),
    "NUL in the path": lambda c: c.get("/provinces/S%00D"),
    "newline in the path": lambda c: c.get("/provinces/SD%0A"),
    "NUL in a quoted cookie": lambda c: c.get("/login", headers={"Cookie": 'cop_session="\\000abc"'}),
    "control character in a cookie": lambda c: c.get("/", headers={"Cookie": 'cop_session="\\001"'}),
    "NUL in the sign-in user name": lambda c: c.post("/login", data={"username": "sd\x00clerk", "password": "x",
                                                                      "csrf_token": "t"}),
    "NUL in the sign-in password": lambda c: c.post("/login", data={"username": "sd_clerk", "password": "\x00",
                                                                     "csrf_token": "t"}),
    "NUL in a form field's name": lambda c: c.post("/login", data={"user\x00name": "x", "csrf_token": "t"}),
    "too many form fields": lambda c: c.post("/login", data={f"f{i}": "x" for i in range(50)}),
    "multipart without a boundary": lambda c: c.post("/login", content=b"--x\r\n",
                                                     headers={"Content-Type": "multipart/form-data"}),
    "multipart cut short": lambda c: c.post(
        "/login", content=b'--b\r\nContent-Disposition: form-data; name="username"\r\n\r\nsd',
        headers={"Content-Type": "multipart/form-data; boundary=b"}),
    "form field that is not UTF-8": lambda c: c.post("/login", content=b"username=%ff%fe&password=x&csrf_token=t",
                                                     headers={"Content-Type": "application/x-www-form-urlencoded"}),
    "header with a control character": lambda c: c.get("/login", headers={"X-Note": "a\x1bb"}),
}


@pytest.mark.parametrize("case", list(SIGNED_OUT_REQUESTS))
def test_malformed_request_gets_400_and_an_audit_line(case, app, portal_conn):
    before = malformed_count(portal_conn)
    with client_for(app) as client:
        response = SIGNED_OUT_REQUESTS[case](client)
        assert_bad_request(portal_conn, before, response)
        assert client.get("/login").status_code == 200  # and the portal carries on


def test_multipart_field_that_is_not_utf8_is_read_as_latin1_not_a_500(app):
    # Starlette falls back to Latin-1 for such a part, so the text is merely wrong: the sign-in fails.
    with client_for(app) as client:
        response = client.post("/login", content=b'--b\r\nContent-Disposition: form-data; name="username"\r\n\r\n'
                                                 b'\xff\xfe\r\n--b--\r\n',
                               headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert response.status_code == 400 and "sign-in form had expired" in response.text


def multipart_upload(client, token: str, file_name: bytes = b"return.csv", period: bytes = b"2026-10",
                     content: bytes = b"a,b\r\n1,2\r\n") -> object:
    body = b"".join([
        b'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n' + token.encode() + b"\r\n",
        b'--b\r\nContent-Disposition: form-data; name="period"\r\n\r\n' + period + b"\r\n",
        b'--b\r\nContent-Disposition: form-data; name="action"\r\n\r\ncheck\r\n',
        b'--b\r\nContent-Disposition: form-data; name="province"\r\n\r\nSD\r\n',
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="' + file_name + b'"\r\n'
        b"Content-Type: text/csv\r\n\r\n" + content + b"\r\n--b--\r\n"])
    return client.post("/provinces/SD/upload", content=body,
                       headers={"Content-Type": "multipart/form-data; boundary=b"})


SIGNED_IN_REQUESTS = {
    "NUL in an upload's file name": lambda c, t: multipart_upload(c, t, file_name=b"sd\x00.csv"),
    "NUL in an upload's month": lambda c, t: multipart_upload(c, t, period=b"2026-10\x00"),
    "upload body cut short": lambda c, t: c.post(
        "/provinces/SD/upload", content=b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n',
        headers={"Content-Type": "multipart/form-data; boundary=b"}),
    "CSRF token that is not ASCII": lambda c, t: c.post("/logout", data={"csrf_token": "\u00e9\u00e9"}),
    "query parameter of the wrong type": lambda c, t: c.get("/provinces/SD?period=%00"),
}


@pytest.mark.parametrize("case", list(SIGNED_IN_REQUESTS))
def test_malformed_request_of_a_signed_in_user_gets_400(case, signed_in, portal_conn):
    client = signed_in("sd_clerk")
    token = csrf_of(client, "/provinces/SD")
    before = malformed_count(portal_conn)
    response = SIGNED_IN_REQUESTS[case](client, token)
    if case == "CSRF token that is not ASCII":  # a forged token: refused as CSRF (403), never a 500
        assert response.status_code == 403 and "form has expired" in response.text
        return
    assert_bad_request(portal_conn, before, response)
    assert last_malformed(portal_conn)["username"] == "sd_clerk"


def test_malformed_query_parameter_of_a_federal_page(signed_in, portal_conn):
    client = signed_in("reviewer")
    before = malformed_count(portal_conn)
    assert_bad_request(portal_conn, before, client.get("/federal?months=twelve"), "could not be read")
    assert client.get("/federal/submissions?period=%00").status_code == 400


@pytest.mark.parametrize("case", ["sheet part named .bin, stray far cell", "bad CRC on the sheet",
                                  "entity bomb in the sheet", "shared-strings bomb", "NUL byte in a UTF-8 CSV",
                                  "giant CSV cell"])
def test_hostile_file_checked_through_the_portal_gets_its_verdict(case, signed_in):
    build, rule, phrase = HOSTILE[case]
    client = signed_in("ic_clerk")
    response = upload(client, "IC", build(MONTH), action="check", file_name="return.xlsx")
    assert response.status_code == 303, response.text[:300]
    page = client.get(response.headers["location"])
    assert page.status_code == 200 and rule in page.text
    assert client.get("/provinces/IC").status_code == 200
