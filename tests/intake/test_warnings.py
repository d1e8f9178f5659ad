"""Warnings: accepted files that a province and the federal reviewers should look at again."""
from __future__ import annotations

import pytest

from cop.period import add_months
from intake_files import submit
from loaders.sample import encode_return, sample_return

pytestmark = pytest.mark.xdist_group("intake_warnings")  # one module, one worker: one database

PROVINCE = "GB"  # 57 units, UTF-8 CSV


@pytest.fixture
def history(fresh_month):
    """Seven accepted months of GB before `month` (outlier checks need six)."""
    month = fresh_month
    for back in range(7, 0, -1):
        past = add_months(month, -back)
        receipt = submit(encode_return(sample_return(PROVINCE, past), PROVINCE), PROVINCE, past)
        assert receipt.status == "accepted", receipt.summary
    return month


def rules_of(receipt, unit=None):
    return [p.rule for p in receipt.warnings if unit is None or p.unit_code == unit]


def test_value_far_from_the_units_history(history):
    rows = sample_return(PROVINCE, history)
    rows[3]["burglary"] = 900
    receipt = submit(encode_return(rows, PROVINCE), PROVINCE, history)
    assert receipt.status == "accepted"
    outlier = [p for p in receipt.warnings if p.rule == "W301"]
    assert [(p.row, p.column, p.value, p.unit_code) for p in outlier] == [(5, "burglary", "900", rows[3]["unit_code"])]
    assert "over its last 7 months it usually reported about" in outlier[0].message


def test_row_copied_from_last_month(history):
    last_month = sample_return(PROVINCE, add_months(history, -1))
    rows = sample_return(PROVINCE, history)
    rows[2] = dict(last_month[2], period=rows[2]["period"])
    receipt = submit(encode_return(rows, PROVINCE), PROVINCE, history)
    copied = [p for p in receipt.warnings if p.rule == "W302"]
    assert [(p.row, p.unit_code) for p in copied] == [(4, rows[2]["unit_code"])]
    assert "equals its" in copied[0].message


def test_all_zero_row_and_missing_units_and_backlogs(fresh_month):
    rows = sample_return(PROVINCE, fresh_month)
    missing = rows.pop(5)["unit_code"]
    rows[0].update({k: 0 for k in rows[0] if k not in ("province_code", "district_code", "unit_code", "period")})
    rows[1].update(disputes_referred=2, disputes_resolved=5, problems_identified=1, problems_resolved=3)
    receipt = submit(encode_return(rows, PROVINCE), PROVINCE, fresh_month)
    assert receipt.status == "accepted" and receipt.exit_code == 0
    assert rules_of(receipt, rows[0]["unit_code"]) == ["W303"]
    assert sorted(rules_of(receipt, rows[1]["unit_code"])) == ["W201", "W202"]
    absent = [p for p in receipt.warnings if p.rule == "W304"]
    assert [(p.unit_code, p.row) for p in absent] == [(missing, None)]
    assert "has no row in the file" in absent[0].message
