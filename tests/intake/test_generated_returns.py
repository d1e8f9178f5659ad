"""End to end on the lead's generated sample returns (hub.generate): every file gets the verdict the
generator planned for it (late files, revisions, missing units, a broken file)."""
from __future__ import annotations

import datetime as dt

import pytest

from hub.generate import generate_returns, submit_generated
from loaders.intake import list_submissions

pytestmark = pytest.mark.xdist_group("intake_generated_returns")  # one module, one worker: one database

SMALL_PROVINCES = {"IC", "GB", "AJ"}
END = dt.date(2025, 6, 1)


@pytest.mark.slow
def test_generated_files_get_their_planned_verdicts(tmp_path):
    entries = [e for e in generate_returns(tmp_path, years=1, seed=11, end=END) if e.province in SMALL_PROVINCES]
    assert any(e.kind == "revision" for e in entries) and any(e.expected_status == "rejected" for e in entries)
    last_accepted = {}
    for entry in entries:
        receipt = submit_generated(tmp_path, entry, channel="test")
        assert receipt.status == entry.expected_status, (entry, receipt.summary)
        if receipt.status == "accepted":
            last_accepted[(entry.province, entry.period)] = receipt.submission_id
    current = {(r["province_code"], r["period"]): r["submission_id"]
               for r in list_submissions() if r["is_current"] and r["period"] <= f"{END:%Y-%m}"}
    assert {key: current.get(key) for key in last_accepted} == last_accepted
