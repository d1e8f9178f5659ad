"""Province drop folders: the naming convention, what counts as waiting, refusals that never crash."""
from __future__ import annotations

import datetime as dt

import pytest

from hub import inbox
from hub import run_review


@pytest.mark.parametrize("name,period", [
    ("SD_2025-03.csv", "2025-03"), ("SD_2025-03_fixed.csv", "2025-03"), ("sd_2025-03_rev1.CSV", "2025-03"),
    ("SD_2025-11_second try.xlsx", "2025-11"),
])
def test_conforming_names_give_the_period(name, period):
    assert inbox.read_file_name(name, "SD") == (period, None)


@pytest.mark.parametrize("name,words", [
    ("sindh march.csv", "does not follow"), ("SD_2025-3.csv", "does not follow"),
    ("SD_2025-03.pdf", "does not follow"), ("PB_2025-03.csv", "names province PB"),
    ("SD_2025-13.csv", "no valid month"),
])
def test_other_names_are_refused_with_a_reason(name, words):
    period, problem = inbox.read_file_name(name, "SD")
    assert period is None and words in problem


def test_waiting_files_oldest_first_and_uploads_in_progress_ignored(cop_home, tmp_path):
    source = tmp_path / "x.csv"
    source.write_text("a")
    inbox.drop_file(source, "GB", dt.datetime(2025, 5, 3, tzinfo=dt.timezone.utc), name="GB_2025-04_fixed.csv")
    inbox.drop_file(source, "GB", dt.datetime(2025, 5, 1, tzinfo=dt.timezone.utc), name="GB_2025-04.csv")
    uploading = [inbox.inbox_dir("GB") / ".GB_2025-05.csv.part", inbox.inbox_dir("GB") / "GB_2025-05.csv.filepart"]
    for path in uploading:
        path.write_text("still uploading")
    waiting = inbox.pending_files("GB")
    assert [f.path.name for f in waiting] == ["GB_2025-04.csv", "GB_2025-04_fixed.csv"]
    assert waiting[0].received_at == dt.datetime(2025, 5, 1, tzinfo=dt.timezone.utc)
    for path in [item.path for item in waiting] + uploading:   # the session's inboxes are shared
        path.unlink()


def test_badly_named_files_are_refused_and_recorded_without_the_database(cop_home, tmp_path):
    source = tmp_path / "whatever.txt"
    source.write_text("x")
    inbox.drop_file(source, "AJ", name="kashmir return.csv")
    inbox.drop_file(source, "AJ", name="kashmir return.csv.second")
    summary = inbox.process_inbox("AJ", "test_dag", "run-1")
    assert summary.headline == "AJ: 2 refused"
    assert all("does not follow" in f.note for f in summary.files)
    refused = inbox.inbox_dir("AJ") / "refused"
    assert (refused / "kashmir return.csv").is_file() and (refused / "kashmir return.csv.reason.txt").is_file()
    assert inbox.pending_files("AJ") == []
    again = run_review.province_summary("test_dag", "run-1", "AJ", "Azad Jammu & Kashmir")
    assert again.state == "done" and len(again.files) == 2


def test_a_refused_name_never_overwrites_an_earlier_file(cop_home, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.write_text("first")
    second.write_text("second")
    inbox.drop_file(first, "IC", name="islamabad.csv")
    inbox.process_inbox("IC", "test_dag", "run-2")
    inbox.drop_file(second, "IC", name="islamabad.csv")
    inbox.process_inbox("IC", "test_dag", "run-3")
    kept = sorted(p.read_text() for p in (inbox.inbox_dir("IC") / "refused").glob("islamabad*.csv"))
    assert kept == ["first", "second"]
