"""Provinces' own servers for the fetch tests: a real SFTP server (asyncssh, hub.localsftp) and a real
HTTP server (http.server with basic auth), both on localhost, started by the tests."""
from __future__ import annotations

import base64
import datetime as dt
import functools
import os
import shutil
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hub.localsftp import LocalSftpServer

HTTP_LOGIN = ("sindh", "sindh-secret")
SAMPLE_PERIOD = "2025-03"     # every province's generated file of this month is accepted
SAMPLE_END = dt.date(2025, 3, 1)
PUBLISHED_AT = dt.datetime(2025, 4, 6, 10, 0, tzinfo=dt.timezone.utc)   # before every due date


class ProvinceWebServer(SimpleHTTPRequestHandler):
    """Serves its folder behind basic auth, like a province's export server. Paths under /forbidden/
    answer 403 and under /slow/ answer only after `slow_seconds` (the failure tests)."""
    slow_seconds = 3.0

    def do_GET(self):
        expected = "Basic " + base64.b64encode(":".join(HTTP_LOGIN).encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="returns"')
            self.end_headers()
            return
        if self.path.startswith("/forbidden/"):
            self.send_error(403)
            return
        if self.path.startswith("/slow/"):
            time.sleep(self.slow_seconds)
        super().do_GET()

    def log_message(self, *args):
        pass


class LocalWebServer:
    def __init__(self, root: Path):
        handler = functools.partial(ProvinceWebServer, directory=str(root))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def connection(self, password: str = HTTP_LOGIN[1]) -> str:
        import json

        return json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": self.port, "schema": "http",
                           "login": HTTP_LOGIN[0], "password": password})


def publish(source: Path, folder: Path, name: str | None = None, at: dt.datetime = PUBLISHED_AT) -> Path:
    """Put a file on a province's server as its export would, with its publication time."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (name or source.name)
    if target.resolve() != Path(source).resolve():
        shutil.copyfile(source, target)
    os.utime(target, (at.timestamp(), at.timestamp()))
    return target


def re_export(path: Path, province: str, at: dt.datetime) -> Path:
    """The province exports the same return again: same rows, one more line ending, so other bytes."""
    from cop.spec import load_amendment

    encoding = load_amendment(province).file.encoding
    text = path.read_bytes().decode(encoding)
    path.write_bytes((text + "\r\n").encode(encoding))
    os.utime(path, (at.timestamp(), at.timestamp()))
    return path


@pytest.fixture(scope="session")
def month_samples(tmp_path_factory) -> dict[str, Path]:
    """One accepted generated return per province for SAMPLE_PERIOD, by province code."""
    from hub.generate import generate_returns

    out = tmp_path_factory.mktemp("fetch-samples")
    entries = generate_returns(out, years=1, seed=7, end=SAMPLE_END)
    files = {e.province: out / e.file for e in entries if e.period == SAMPLE_PERIOD}
    assert len(files) == 7 and all(e.expected_status == "accepted" for e in entries if e.period == SAMPLE_PERIOD)
    return files


@pytest.fixture
def sftp_server(tmp_path):
    with LocalSftpServer(tmp_path / "sftp-root") as server:
        yield server


@pytest.fixture
def web_server(tmp_path):
    root = tmp_path / "web-root"
    root.mkdir()
    with LocalWebServer(root) as server:
        server.root = root
        yield server
