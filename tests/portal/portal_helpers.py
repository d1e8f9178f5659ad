"""Helpers of the portal tests: the accounts and clock they use, signing in and uploading as a
browser would, valid returns, and submissions received at a chosen time."""
from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient

from loaders.intake import submit_file
from loaders.sample import encode_return, sample_return

NOW = dt.datetime(2026, 11, 5, 9, 0, tzinfo=dt.timezone.utc)
MONTH = dt.date(2026, 10, 1)
PASSWORD = "correct horse battery"
USERS = {"sd_clerk": ("province", "SD", "Sindh data desk"), "ic_clerk": ("province", "IC", "Islamabad data desk"),
         "reviewer": ("federal", None, "Federal reviewer")}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def client_for(app) -> TestClient:
    return TestClient(app, base_url="http://testserver", follow_redirects=False)


def sign_in(client: TestClient, username: str, password: str = PASSWORD):
    page = client.get("/login")
    token = CSRF.search(page.text).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token, "next": "/"})


def csrf_of(client: TestClient, path: str) -> str:
    return CSRF.search(client.get(path).text).group(1)


def upload(client: TestClient, province: str, content: bytes, action: str = "submit", period: str = "2026-10",
           file_name: str = "return.csv", form_province: str | None = None, csrf: str | None = None,
           home: str | None = None):
    """POST the upload form of `province` as the signed-in user (its CSRF token read from `home`)."""
    token = csrf if csrf is not None else csrf_of(client, home or f"/provinces/{province}")
    data = {"csrf_token": token, "period": period, "action": action, "province": form_province or province}
    return client.post(f"/provinces/{province}/upload", data=data,
                       files={"file": (file_name, content, "application/octet-stream")})


def good_file(province: str, seed: int = 0, units: int | None = None) -> bytes:
    return encode_return(sample_return(province, MONTH, seed=seed, units=units), province)


def submit_at(province: str, month: dt.date, content: bytes, received_at: dt.datetime, channel: str = "cli"):
    """A submission received at a chosen moment (as the command line or the drop-folder intake records it)."""
    return submit_file(content, "return.csv", province, month, "tests", channel=channel, received_at=received_at)


def good_file_for(province: str, month: dt.date, seed: int = 0, units: int | None = None) -> bytes:
    return encode_return(sample_return(province, month, seed=seed, units=units), province)


def browser_sign_in(page, url: str, username: str) -> None:
    """Sign in through the portal's login page in a real browser."""
    page.goto(f"{url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
