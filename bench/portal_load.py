"""Provinces uploading at once through the real portal: uvicorn on a free local port, real HTTP, one
signed-in browser session per upload.

Used by `cop-bench` (aggregate verdicts per second under load, beside the same files one at a time)
and by the reliability tests (each verdict under load equals the same file's verdict alone).
"""
from __future__ import annotations

import datetime as dt
import os
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import httpx

from cop import db

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
RECEIPT_PATH = re.compile(r"^/(submissions|checks)/(\w+)$")
CLERK_PASSWORD = "load test clerk password"


@dataclass(frozen=True)
class Upload:
    province: str
    period: str
    content: bytes
    file_name: str


@dataclass(frozen=True)
class UploadResult:
    upload: Upload
    http_status: int
    receipt_path: str | None  # /submissions/<id> or /checks/<id>
    seconds: float

    @property
    def submission_id(self) -> int | None:
        match = RECEIPT_PATH.match(self.receipt_path or "")
        return int(match.group(2)) if match and match.group(1) == "submissions" else None


def clerk_name(province: str) -> str:
    return f"{province.lower()}.loadtest"


def add_clerks(provinces: list[str]) -> None:
    """One province account per province (in the current database), for the uploads."""
    from portal.accounts import AccountError, add_user

    for province in provinces:
        try:
            add_user(clerk_name(province), CLERK_PASSWORD, "province", province)
        except AccountError:
            pass  # already there


@contextmanager
def running_portal(clock: Callable[[], dt.datetime] | None = None) -> Iterator[str]:
    """The portal application served by uvicorn in a thread of this process; yields its base URL."""
    import uvicorn

    from portal.app import create_app

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(clock=clock), host="127.0.0.1", port=port,
                                           log_level="warning", server_header=False))
    thread = threading.Thread(target=server.run, daemon=True, name="portal-under-load")
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the portal did not start within 60 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    """One signed-in province clerk, as a browser would be: cookies, CSRF tokens, multipart uploads."""

    def __init__(self, base_url: str, province: str):
        self.province = province
        self.client = httpx.Client(base_url=base_url, follow_redirects=False, timeout=600)
        login = self.client.get("/login")
        response = self.client.post("/login", data={"username": clerk_name(province), "password": CLERK_PASSWORD,
                                                    "csrf_token": _csrf(login.text), "next": "/"})
        if response.status_code != 303:
            raise RuntimeError(f"{clerk_name(province)} could not sign in (HTTP {response.status_code})")
        self.csrf = _csrf(self.client.get(f"/provinces/{province}").text)

    def upload(self, upload: Upload, action: str = "submit") -> UploadResult:
        started = time.perf_counter()
        response = self.client.post(
            f"/provinces/{upload.province}/upload",
            data={"csrf_token": self.csrf, "period": upload.period, "action": action, "province": upload.province},
            files={"file": (upload.file_name, upload.content, "application/octet-stream")})
        location = response.headers.get("location") if response.status_code == 303 else None
        return UploadResult(upload, response.status_code, location, time.perf_counter() - started)

    def close(self) -> None:
        self.client.close()


def _csrf(page: str) -> str:
    match = CSRF_FIELD.search(page)
    if match is None:
        raise RuntimeError("no CSRF token on the page (not signed in?)")
    return match.group(1)


def upload_all(base_url: str, uploads: list[Upload], concurrently: bool,
               action: str = "submit") -> tuple[list[UploadResult], float]:
    """Every upload, each from a browser of its own signed in beforehand; (results in order, wall seconds)."""
    browsers = [Browser(base_url, upload.province) for upload in uploads]
    try:
        started = time.perf_counter()
        if concurrently:
            with ThreadPoolExecutor(max_workers=len(uploads)) as pool:
                results = list(pool.map(lambda pair: pair[0].upload(pair[1], action), zip(browsers, uploads)))
        else:
            results = [browser.upload(upload, action) for browser, upload in zip(browsers, uploads)]
        return results, time.perf_counter() - started
    finally:
        for browser in browsers:
            browser.close()


def recorded_verdicts(submission_ids: list[int]) -> dict[int, tuple]:
    """submission id -> (status, sorted problems as (severity, rule, row, column, value)), from the database."""
    with db.connect() as conn:
        statuses = dict(conn.execute("select submission_id, status from raw.submissions "
                                     "where submission_id = any(%s)", (submission_ids,)).fetchall())
        problems: dict[int, list] = {}
        for row in conn.execute("select submission_id, severity, rule, source_row, column_name, value "
                                "from audit.problems where submission_id = any(%s)", (submission_ids,)):
            problems.setdefault(row[0], []).append(tuple(row[1:]))
    return {sid: (statuses.get(sid), sorted(problems.get(sid, []), key=repr)) for sid in submission_ids}


def receipt_verdict(receipt) -> tuple:
    """The same shape as recorded_verdicts, from an intake receipt."""
    found = [(p.severity, p.rule, p.row, p.column, p.value) for p in receipt.errors + receipt.warnings]
    return receipt.status, sorted(found, key=repr)


# ---------------------------------------------------------------- the benchmark figure


def measure_portal_load(samples, uploads: int = 20) -> dict:
    """`uploads` generated files from all seven provinces through the portal, one at a time and then all at
    once (each run in a fresh database): aggregate verdicts per second, and whether every verdict matched."""
    from bench.common import console, median, percentile, ratio

    chosen = _spread_files(samples, uploads)
    console.print(f"portal load: {len(chosen)} files from {len({u.province for u in chosen})} provinces, "
                  f"one at a time, then all at once")
    runs = {}
    for label, concurrently in (("serial", False), ("concurrent", True)):
        with db.temporary_database(f"bench_portal_{label}"):
            add_clerks(sorted({u.province for u in chosen}))
            with running_portal() as base_url:
                results, wall = upload_all(base_url, chosen, concurrently=concurrently)
            verdicts = recorded_verdicts([r.submission_id for r in results if r.submission_id])
        runs[label] = {"results": results, "wall": wall,
                       "verdicts": [verdicts.get(r.submission_id) for r in results]}
    serial, concurrent = runs["serial"], runs["concurrent"]
    waits = [r.seconds for r in concurrent["results"]]
    return {
        "uploads": len(chosen), "cpus": os.cpu_count(),
        "serial": {"seconds": round(serial["wall"], 2), "verdicts_per_second": round(len(chosen) / serial["wall"], 3)},
        "concurrent": {"seconds": round(concurrent["wall"], 2),
                       "verdicts_per_second": round(len(chosen) / concurrent["wall"], 3),
                       "wait_p50_seconds": round(median(waits), 2), "wait_p95_seconds": round(percentile(waits, 0.95), 2)},
        "concurrent_vs_serial": ratio(serial["wall"], concurrent["wall"]),
        "http_errors": sum(r.http_status != 303 for run in runs.values() for r in run["results"]),
        "verdicts_identical": serial["verdicts"] == concurrent["verdicts"],
    }


def _spread_files(samples, count: int) -> list[Upload]:
    """Files of every province, each province's months 13 apart, so that no file's history holds
    another's month: the verdicts cannot depend on the order the uploads finish in."""
    by_province: dict[str, list] = {}
    for entry in samples.entries:
        months = by_province.setdefault(entry.province, [])
        if not months or _months_between(months[-1].period, entry.period) >= 13:
            months.append(entry)
    chosen = []
    for round_ in range(max(len(m) for m in by_province.values())):
        for province in sorted(by_province):
            if round_ < len(by_province[province]) and len(chosen) < count:
                entry = by_province[province][round_]
                chosen.append(Upload(entry.province, entry.period, samples.path(entry).read_bytes(),
                                     samples.path(entry).name))
    return chosen


def _months_between(first: str, second: str) -> int:
    (y1, m1), (y2, m2) = (map(int, first.split("-")), map(int, second.split("-")))
    return (y2 - y1) * 12 + (m2 - m1)
