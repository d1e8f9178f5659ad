"""The recording-integrity screen (marts.rpt_integrity_flags_unit_month / _unit_year) on a few known
unit-months: FIRs collapsing while complaints hold, a copied month, rounded figures; a steady unit is
never flagged."""
from __future__ import annotations

import datetime as dt

import pytest

from cop.spec import load_form
from warehouse_data import pkt, unit_values

pytestmark = pytest.mark.xdist_group("warehouse_integrity")

STEADY, COLLAPSING, COPYING, ROUNDING = "GB-GLT-001", "GB-GLT-002", "GB-GLT-003", "GB-GLT-004"
MONTHS = [f"2024-{m:02d}" for m in range(1, 10)]   # the last month carries the anomalies


def figures(unit: int, month: int) -> dict[str, float | None]:
    """Plausible figures that vary a little every month, with crime well above the collapse threshold."""
    values = unit_values(unit, shift=month % 3)
    for f in load_form().fields:
        if f.group == "crime":
            values[f.name] = 30.0 + (month + unit + len(f.name)) % 7
    values["mobile_snatching"] = 10.0 + month % 4
    values["complaints_received"] = 40.0 + month % 5
    return values


@pytest.fixture(scope="module")
def flags(raw_loader, warehouse_conn):
    from cop.build import build

    form = load_form()
    previous = {}
    for index, period in enumerate(MONTHS, start=1):
        rows = {unit: figures(number, index) for number, unit in
                enumerate((STEADY, COLLAPSING, COPYING, ROUNDING), start=1)}
        if period == MONTHS[-1]:
            for f in form.fields:
                if f.group == "crime":
                    rows[COLLAPSING][f.name] = float(int(rows[COLLAPSING][f.name] * 0.2))
            rows[COPYING] = dict(previous[COPYING])
            rows[ROUNDING] = {name: (float(round(v, -1)) if v is not None and v >= 10 and name != "median_days_to_resolve"
                                     else v) for name, v in rows[ROUNDING].items()}
        raw_loader.submit("GB", period, pkt(f"{period}-28 10:00") + dt.timedelta(days=5), rows)
        previous = rows
    result = build(select="+rpt_integrity_flags_unit_year")
    assert result.success, result.failure_report()
    monthly = warehouse_conn.execute("select unit_code, to_char(month, 'YYYY-MM'), flag, evidence "
                                     "from marts.rpt_integrity_flags_unit_month").fetchall()
    yearly = warehouse_conn.execute("select unit_code, year, flag, months_flagged, is_serious "
                                    "from marts.rpt_integrity_flags_unit_year").fetchall()
    return monthly, yearly


def test_each_planted_problem_is_flagged_with_its_evidence(flags):
    monthly, _ = flags
    raised = {(unit, month, flag) for unit, month, flag, _ in monthly}
    last = MONTHS[-1]
    assert (COLLAPSING, last, "fir_collapse") in raised
    assert (COPYING, last, "copied_month") in raised
    assert (ROUNDING, last, "rounded_figures") in raised
    assert not any(unit == STEADY for unit, *_ in raised)
    evidence = {(unit, flag): text for unit, _, flag, text in monthly}
    collapse = evidence[(COLLAPSING, "fir_collapse")]
    assert "were expected" in collapse and "standard deviations below" in collapse and "complaints" in collapse, collapse
    assert "equals the return for 2024-08" in evidence[(COPYING, "copied_month")]


def test_the_year_marks_serious_flags(flags):
    _, yearly = flags
    by_unit = {(unit, flag): (months, serious) for unit, year, flag, months, serious in yearly if year == 2024}
    assert by_unit[(COLLAPSING, "fir_collapse")] == (1, True)
    assert by_unit[(COPYING, "copied_month")] == (1, False)   # one copied month: a question, not yet serious
