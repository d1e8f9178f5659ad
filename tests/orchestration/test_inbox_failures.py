"""A file the intake cannot decide is set aside with its reason and the files after it are processed; an
outage of the database or the disk fails the task (Airflow retries it) and leaves the files waiting."""
from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from hub import inbox
from hub import run_review
from loaders import intake
from loaders.sample import encode_return, sample_return

pytestmark = pytest.mark.xdist_group("inbox_failures")

MONTH = dt.date(2025, 6, 1)


@pytest.fixture(scope="module")
def inbox_database(fresh_database):
    with fresh_database("inbox_failures") as url:
        yield url


@pytest.fixture
def home(inbox_database, tmp_path, monkeypatch):
    """An empty COP_HOME of its own (its drop folders and journals), on the module's database."""
    monkeypatch.setenv("COP_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def drop(tmp_path, name: str, content: bytes, minute: int):
    source = tmp_path / name
    source.write_bytes(content)
    inbox.drop_file(source, "IC", dt.datetime(2025, 7, 2, 9, minute, tzinfo=dt.timezone.utc))


def good(seed: int) -> bytes:
    return encode_return(sample_return("IC", MONTH, seed=seed, units=5), "IC")


def fail_deciding(monkeypatch, file_name: str):
    """Fault injection: the intake raises (as a bug triggered by a file's bytes would) for one file only."""
    register = intake._register

    def failing(conn, receipt, *args, **kwargs):
        if receipt.file_name == file_name:
            raise IndexError("list index out of range")
        return register(conn, receipt, *args, **kwargs)
    monkeypatch.setattr(intake, "_register", failing)


def test_a_file_that_cannot_be_decided_is_set_aside_and_the_next_is_processed(home, tmp_path, monkeypatch):
    drop(tmp_path, "IC_2025-06.csv", good(1), minute=0)
    drop(tmp_path, "IC_2025-06_fixed.csv", good(2), minute=5)
    fail_deciding(monkeypatch, "IC_2025-06.csv")

    summary = inbox.process_inbox("IC", "test_dag", "run-undecidable")

    assert [(f.file_name, f.verdict) for f in summary.files] == [("IC_2025-06.csv", "refused"),
                                                                 ("IC_2025-06_fixed.csv", "accepted")]
    assert "could not decide this file (IndexError: list index out of range)" in summary.files[0].note
    refused = inbox.inbox_dir("IC") / "refused"
    assert (refused / "IC_2025-06.csv").read_bytes() == good(1)
    assert "set aside" in (refused / "IC_2025-06.csv.reason.txt").read_text()
    assert inbox.pending_files("IC") == []
    assert run_review.province_summary("test_dag", "run-undecidable", "IC", "Islamabad").state == "done"
    assert [s["file_name"] for s in intake.list_submissions("IC", MONTH)] == ["IC_2025-06_fixed.csv"]


def test_a_database_outage_fails_the_task_and_the_file_waits(home, tmp_path, monkeypatch):
    drop(tmp_path, "IC_2025-06_rev3.csv", good(3), minute=10)
    monkeypatch.setenv("COP_DATABASE_URL", "postgresql://cop:cop@127.0.0.1:9/cop?connect_timeout=5")

    with pytest.raises(psycopg.OperationalError):
        inbox.process_inbox("IC", "test_dag", "run-outage")

    assert [f.path.name for f in inbox.pending_files("IC")] == ["IC_2025-06_rev3.csv"]
    assert run_review.province_summary("test_dag", "run-outage", "IC", "Islamabad").state == "failed"


def test_a_disk_failure_fails_the_task_and_a_retry_finishes_the_file(home, tmp_path):
    drop(tmp_path, "IC_2025-06_rev4.csv", good(4), minute=15)
    blocked = inbox.inbox_dir("IC") / "processed"
    blocked.symlink_to(tmp_path / "unmounted")  # the processed folder's disk is gone: moving the file fails

    with pytest.raises(OSError):
        inbox.process_inbox("IC", "test_dag", "run-disk")
    assert [f.path.name for f in inbox.pending_files("IC")] == ["IC_2025-06_rev4.csv"]

    blocked.unlink()
    retried = inbox.process_inbox("IC", "test_dag", "run-disk-retry")
    assert [(f.file_name, f.verdict) for f in retried.files] == [("IC_2025-06_rev4.csv", "duplicate")]


def test_a_failure_that_takes_the_platform_down_is_an_outage(home, tmp_path, monkeypatch):
    """An unexpected exception while the database is unreachable is not blamed on the file."""
    drop(tmp_path, "IC_2025-06_rev5.csv", good(5), minute=20)
    fail_deciding(monkeypatch, "IC_2025-06_rev5.csv")
    register = intake._register

    def fail_then_lose_the_database(conn, receipt, *args, **kwargs):
        monkeypatch.setenv("COP_DATABASE_URL", "postgresql://cop:cop@127.0.0.1:9/cop?connect_timeout=5")
        return register(conn, receipt, *args, **kwargs)
    monkeypatch.setattr(intake, "_register", fail_then_lose_the_database)

    with pytest.raises(IndexError):
        inbox.process_inbox("IC", "test_dag", "run-down")
    assert [f.path.name for f in inbox.pending_files("IC")] == ["IC_2025-06_rev5.csv"]
