"""Fetching returns from the provinces' own servers (hub.fetch), against a real SFTP server and a real
HTTP server on localhost, with the real intake and the real PostgreSQL: what is taken, what is not,
and each failure with its own message in the run run_review."""
from __future__ import annotations

import asyncio
import datetime as dt
import socket
import uuid

import asyncssh
import psycopg
import pytest
import yaml

from hub import deadlines
from hub import fetch
from hub import orchestration
from hub import run_review
from cop.sources import SourceConfigError, load_sources

from .conftest import SAMPLE_PERIOD, publish, re_export

DAG = "cop_monthly_returns"
pytestmark = pytest.mark.xdist_group("fetch")


@pytest.fixture(scope="module")
def fetch_database(fresh_database):
    with fresh_database("fetch") as url:
        yield url


@pytest.fixture
def conn(fetch_database):
    """The fetch tests' own database (not the session's)."""
    with psycopg.connect(fetch_database, autocommit=True) as connection:
        yield connection


@pytest.fixture
def configure(tmp_path, monkeypatch, conn):
    """configure(KP={...}, ...) writes a sources file and points COP_SOURCES_FILE at it; each test starts
    with an empty ledger (its servers are new: their files must not look taken already)."""
    conn.execute("truncate audit.source_fetches, audit.source_checks")

    def write(connections: dict[str, str] | None = None, **provinces):
        path = tmp_path / f"sources-{uuid.uuid4().hex[:6]}.yaml"
        path.write_text(yaml.safe_dump({"defaults": {"timeout_seconds": 2}, "provinces": provinces}))
        monkeypatch.setenv("COP_SOURCES_FILE", str(path))
        for conn_id, value in (connections or {}).items():
            monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", value)
        return path
    return write


def run_province(province: str, periods=(SAMPLE_PERIOD,)) -> tuple[dict, str, Exception | None]:
    """One province task as the DAG runs it; (its fetch entry, the run review markdown, the failure)."""
    run_id = f"test-{uuid.uuid4().hex[:8]}"
    failure = None
    try:
        orchestration.intake_province(province, DAG, run_id, periods=list(periods))
    except fetch.FetchFailure as exc:
        failure = exc
    summary = orchestration.monthly_run_summary(DAG, run_id, [province])
    markdown = (run_review.run_dir(DAG, run_id) / "summary.md").read_text()
    return {**summary.provinces[0].fetch, "files": summary.provinces[0].files,
            "state_of_task": summary.provinces[0].state}, markdown, failure


def sftp_source(folder="/outgoing", **extra) -> dict:
    return {"kind": "sftp", "connection": "cop_test_sftp", "folder": folder, "files": "KP_{period}*.csv", **extra}


# ---------------------------------------------------------------- what is taken


def test_sftp_takes_a_complete_file_once_and_a_replaced_file_becomes_the_next_version(
        configure, sftp_server, month_samples, conn):
    configure({"cop_test_sftp": sftp_server.connection_uri()}, KP=sftp_source())
    outgoing = sftp_server.root / "outgoing"
    publish(month_samples["KP"], outgoing)
    (outgoing / "KP_2025-03_rev1.csv.part").write_bytes(b"upload in progress")

    first, _, failure = run_province("KP")
    assert failure is None and first["state"] == "fetched", first
    assert [(f.file_name, f.verdict, f.version) for f in first["files"]] == [("KP_2025-03.csv", "accepted", 1)]
    channel, received = conn.execute(
        "select channel, received_at from raw.submissions where submission_id = %s",
        (first["files"][0].submission_id,)).fetchone()
    assert channel == "sftp" and received == dt.datetime(2025, 4, 6, 10, tzinfo=dt.timezone.utc)
    assert (outgoing / "KP_2025-03.csv").exists(), "remote files are left untouched by default"

    second, markdown, _ = run_province("KP")
    assert second["state"] == "nothing new" and second["files"] == []
    assert "were taken earlier and have not changed" in markdown

    re_export(outgoing / "KP_2025-03.csv", "KP", at=dt.datetime(2025, 4, 8, tzinfo=dt.timezone.utc))
    third, _, _ = run_province("KP")
    assert third["state"] == "fetched"
    assert [(f.verdict, f.version) for f in third["files"]] == [("accepted", 2)]
    ledger = conn.execute("select status, sha256 from audit.source_fetches where province_code = 'KP' "
                          "order by fetch_id").fetchall()
    assert [s for s, _ in ledger] == ["submitted", "submitted"] and ledger[0][1] != ledger[1][1]


def test_sftp_marker_is_awaited_and_the_file_moved_when_asked(configure, sftp_server, month_samples):
    configure({"cop_test_sftp": sftp_server.connection_uri()},
              KP=sftp_source(marker=".done", move_to="/outgoing/taken"))
    outgoing = sftp_server.root / "outgoing"
    (outgoing / "taken").mkdir(parents=True)
    publish(month_samples["KP"], outgoing)

    waiting, markdown, _ = run_province("KP")
    assert waiting["state"] == "waiting" and "no completion marker KP_2025-03.csv.done" in markdown

    (outgoing / "KP_2025-03.csv.done").write_text("")
    taken, _, _ = run_province("KP")
    assert taken["state"] == "fetched"
    assert (outgoing / "taken" / "KP_2025-03.csv").exists() and not (outgoing / "KP_2025-03.csv").exists()
    assert "moved to /outgoing/taken/KP_2025-03.csv" in taken["files"][0].note


def test_https_listing_takes_the_matching_file_and_then_nothing(configure, web_server, month_samples):
    configure({"cop_test_web": web_server.connection()},
              SD={"kind": "https", "connection": "cop_test_web", "listing": "/exports/", "files": "SD_{period}*.csv"})
    publish(month_samples["SD"], web_server.root / "exports")
    publish(month_samples["BA"], web_server.root / "exports")          # someone else's file: not taken

    first, _, failure = run_province("SD")
    assert failure is None and first["state"] == "fetched"
    assert [(f.file_name, f.verdict) for f in first["files"]] == [("SD_2025-03.csv", "accepted")]
    second, _, _ = run_province("SD")
    assert second["state"] == "nothing new", "HTTP 304 on the conditional GET: nothing downloaded again"


# ---------------------------------------------------------------- nothing there yet


def test_a_listing_with_no_matching_file_is_nothing_published_yet(configure, sftp_server, month_samples):
    configure({"cop_test_sftp": sftp_server.connection_uri()}, KP=sftp_source())
    publish(month_samples["KP"], sftp_server.root / "outgoing", name="KP_2025-02.csv")
    found, markdown, failure = run_province("KP")
    assert failure is None and found["state_of_task"] == "done"
    assert found["state"] == "nothing published"
    assert "has no file for 2025-03 yet (it holds: KP_2025-02.csv; none matches KP_{period}*.csv)" in markdown


def test_a_month_url_not_published_yet_is_nothing_published(configure, web_server):
    configure({"cop_test_web": web_server.connection()},
              SD={"kind": "https", "connection": "cop_test_web", "url": "/returns/SD_{period}.csv"})
    found, markdown, failure = run_province("SD")
    assert failure is None and found["state"] == "nothing published"
    assert "the source answered but has no file for 2025-03 yet" in markdown


# ---------------------------------------------------------------- failures, each with its own message


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_host_is_retried(configure, sftp_server):
    uri = sftp_server.connection_uri().replace(f'"port": {sftp_server.port}', f'"port": {free_port()}')
    configure({"cop_test_sftp": uri}, KP=sftp_source())
    found, markdown, failure = run_province("KP")
    assert isinstance(failure, fetch.SourceUnavailable) and failure.retry_helps
    assert found["failure_kind"] == "unreachable" and found["state_of_task"] == "failed"
    assert "cannot reach the SFTP server 127.0.0.1:" in markdown and "tried again later" in markdown


def test_wrong_sftp_password_is_not_retried(configure, sftp_server):
    configure({"cop_test_sftp": sftp_server.connection_uri(password="wrong")}, KP=sftp_source())
    found, markdown, failure = run_province("KP")
    assert isinstance(failure, fetch.RetryCannotHelp) and not failure.retry_helps
    assert found["failure_kind"] == "credentials"
    assert "refused the login of connection 'cop_test_sftp'" in markdown


def test_wrong_https_password_is_not_retried(configure, web_server):
    configure({"cop_test_web": web_server.connection(password="wrong")},
              SD={"kind": "https", "connection": "cop_test_web", "url": "/returns/SD_{period}.csv"})
    found, markdown, failure = run_province("SD")
    assert isinstance(failure, fetch.RetryCannotHelp) and found["failure_kind"] == "credentials"
    assert "refused the credentials of connection 'cop_test_web' (HTTP 401)" in markdown


class LockedFolderServer(asyncssh.SFTPServer):
    """An SFTP server whose /locked folder the account may not read."""

    def scandir(self, path: bytes):
        if path.rstrip(b"/").endswith(b"/locked"):
            raise asyncssh.SFTPPermissionDenied("Permission denied")
        return super().scandir(path)


def test_permission_denied_on_the_folder(configure, tmp_path):
    from hub.localsftp import LocalSftpServer

    with LocalSftpServer(tmp_path / "root", sftp_server_class=LockedFolderServer) as server:
        (server.root / "locked").mkdir()
        configure({"cop_test_sftp": server.connection_uri()}, KP=sftp_source(folder="/locked"))
        found, markdown, failure = run_province("KP")
    assert isinstance(failure, fetch.RetryCannotHelp) and found["failure_kind"] == "permission"
    assert "permission denied: cannot list the folder /locked on the SFTP server 127.0.0.1:" in markdown


def test_permission_denied_over_https(configure, web_server):
    configure({"cop_test_web": web_server.connection()},
              SD={"kind": "https", "connection": "cop_test_web", "url": "/forbidden/SD_{period}.csv"})
    found, markdown, failure = run_province("SD")
    assert isinstance(failure, fetch.RetryCannotHelp) and found["failure_kind"] == "permission"
    assert "permission denied (HTTP 403)" in markdown


class VanishingFileServer(asyncssh.SFTPServer):
    """The province replaces its file while we read it: the first read finds it gone."""

    def read(self, file_obj, offset, size):
        path = file_obj.name
        file_obj.close()
        __import__("os").remove(path)
        raise asyncssh.SFTPNoSuchFile("No such file")


def test_a_file_vanishing_mid_download_is_retried(configure, tmp_path, month_samples, conn):
    from hub.localsftp import LocalSftpServer

    with LocalSftpServer(tmp_path / "root", sftp_server_class=VanishingFileServer) as server:
        publish(month_samples["KP"], server.root / "outgoing")
        configure({"cop_test_sftp": server.connection_uri()}, KP=sftp_source())
        found, markdown, failure = run_province("KP")
    assert isinstance(failure, fetch.SourceUnavailable) and found["failure_kind"] == "vanished"
    assert "KP_2025-03.csv vanished from the SFTP server 127.0.0.1:" in markdown
    assert conn.execute("select count(*) from audit.source_fetches where province_code = 'KP' "
                        "and remote_path = '/outgoing/KP_2025-03.csv' and status = 'submitted' "
                        "and fetched_at > now() - interval '1 minute'").fetchone()[0] == 0


def test_a_huge_file_is_refused_once_without_downloading(configure, sftp_server):
    configure({"cop_test_sftp": sftp_server.connection_uri()}, KP=sftp_source())
    outgoing = sftp_server.root / "outgoing"
    outgoing.mkdir(parents=True)
    huge = outgoing / "KP_2025-03_huge.csv"
    with huge.open("wb") as handle:
        handle.truncate(60_000_000)                       # sparse: 60 MB listed, nothing to read
    publish(huge, outgoing)
    found, markdown, failure = run_province("KP")
    assert failure is None and found["state"] == "refused"
    assert "not fetched: the file is 60.0 MB, the largest return accepted is 5.0 MB" in markdown
    again, _, _ = run_province("KP")
    assert again["state"] == "nothing new" and again["files"] == []


def test_a_huge_file_over_https_is_refused_by_its_declared_length(configure, web_server):
    configure({"cop_test_web": web_server.connection()},
              SD={"kind": "https", "connection": "cop_test_web", "url": "/returns/SD_{period}.csv"})
    (web_server.root / "returns").mkdir()
    with (web_server.root / "returns" / "SD_2025-03.csv").open("wb") as handle:
        handle.truncate(60_000_000)
    found, markdown, failure = run_province("SD")
    assert failure is None and found["state"] == "refused"
    assert "not fetched: the file is 60.0 MB" in markdown


def test_a_slow_server_is_retried(configure, web_server):
    configure({"cop_test_web": web_server.connection()},
              SD={"kind": "https", "connection": "cop_test_web", "url": "/slow/SD_{period}.csv",
                  "timeout_seconds": 0.5})
    found, markdown, failure = run_province("SD")
    assert isinstance(failure, fetch.SourceUnavailable) and found["failure_kind"] == "slow"
    assert "did not answer within 0.5 s" in markdown


class SlowServer(asyncssh.SFTPServer):
    """Answers each read only after three seconds."""

    async def read(self, file_obj, offset, size):
        await asyncio.sleep(3)
        return super().read(file_obj, offset, size)


def test_a_slow_sftp_server_is_retried(configure, tmp_path, month_samples):
    from hub.localsftp import LocalSftpServer

    with LocalSftpServer(tmp_path / "root", sftp_server_class=SlowServer) as server:
        publish(month_samples["KP"], server.root / "outgoing")
        configure({"cop_test_sftp": server.connection_uri()}, KP=sftp_source(timeout_seconds=1))
        found, markdown, failure = run_province("KP")
    assert isinstance(failure, fetch.SourceUnavailable) and found["failure_kind"] == "slow"
    assert "stopped answering for 1 s while trying to download /outgoing/KP_2025-03.csv" in markdown


def test_a_connection_that_is_not_defined(configure):
    configure(KP=sftp_source(connection="cop_nowhere"))
    found, markdown, failure = run_province("KP")
    assert isinstance(failure, fetch.RetryCannotHelp)
    assert "the Airflow connection 'cop_nowhere' is not defined" in markdown


# ---------------------------------------------------------------- reminders and configuration


def test_reminders_tell_unreachable_from_nothing_published(configure, sftp_server, web_server, conn):
    uri = sftp_server.connection_uri().replace(f'"port": {sftp_server.port}', f'"port": {free_port()}')
    configure({"cop_test_sftp": uri, "cop_test_web": web_server.connection()}, KP=sftp_source(),
              SD={"kind": "https", "connection": "cop_test_web", "url": "/returns/SD_{period}.csv"})
    run_province("KP", periods=["2025-02"])
    run_province("SD", periods=["2025-02"])
    report = deadlines.check_deadlines(dt.date(2025, 3, 20), provinces=["KP", "SD", "BA"])
    by_province = {p.province: p for p in report.provinces}
    assert "source unreachable since" in by_province["KP"].sentence()
    assert "cannot reach the SFTP server" in by_province["KP"].sentence()
    assert "source reachable, nothing published yet for 2025-02" in by_province["SD"].sentence()
    assert "source" not in by_province["BA"].sentence(), "a drop-folder province has no source note"
    assert "source unreachable since" in report.markdown()


def test_sources_file_refuses_credentials_and_unusable_entries(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"provinces": {"KP": {**sftp_source(), "password": "x"}}}))
    with pytest.raises(SourceConfigError, match="credentials belong in the Airflow Connection"):
        load_sources(path)
    path.write_text(yaml.safe_dump({"provinces": {"SD": {"kind": "https", "connection": "c"}}}))
    with pytest.raises(SourceConfigError, match="needs either `url`"):
        load_sources(path)
    path.write_text(yaml.safe_dump({"provinces": {"XX": {"kind": "drop_folder"}}}))
    with pytest.raises(SourceConfigError, match="unknown province"):
        load_sources(path)
    path.write_text(yaml.safe_dump({"provinces": {"KP": sftp_source()}}))
    sources = load_sources(path)
    assert sources["KP"].kind == "sftp" and sources["SD"].kind == "drop_folder"


@pytest.mark.parametrize("today, expected", [
    (dt.date(2025, 3, 31), []),                      # March not over yet
    (dt.date(2025, 4, 1), ["2025-03"]),              # window opens the day after the month
    (dt.date(2025, 4, 15), ["2025-03"]),             # due 10 April + 5 days' grace
    (dt.date(2025, 4, 16), []),                      # window closed
])
def test_schedule_window(today, expected):
    from cop.sources import Source

    assert Source("SD", kind="sftp", grace_days=5).periods_open(today, due_day=10) == expected




def test_cop_sources_lists_each_province_and_the_last_look(configure, sftp_server, month_samples):
    from typer.testing import CliRunner

    from hub.cli import app

    configure({"cop_test_sftp": sftp_server.connection_uri()}, KP=sftp_source())
    publish(month_samples["KP"], sftp_server.root / "outgoing")
    fetched = CliRunner().invoke(app, ["fetch", "--province", "KP", "--period", SAMPLE_PERIOD])
    assert fetched.exit_code == 0, fetched.output
    assert "KP: " in fetched.output and "KP_2025-03.csv (2025-03)" in fetched.output
    listed = CliRunner().invoke(app, ["sources"])
    assert listed.exit_code == 0, listed.output
    assert "KP  sftp" in listed.output and "sftp://cop_test_sftp/outgoing/KP_{period}*.csv" in listed.output
    assert "last look" in listed.output and "last file taken: /outgoing/KP_2025-03.csv" in listed.output
    assert "PB  drop_folder  drop folder inbox/PB/" in listed.output
