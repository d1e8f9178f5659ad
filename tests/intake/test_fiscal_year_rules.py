"""W206: COP funds spent may exceed funds received in a month (money received earlier is spent later), but
not over the fiscal year: the sums from July to the month, from the unit's latest accepted returns and the
file being checked."""
from __future__ import annotations

import datetime as dt

import pytest

from cop.spec import form_for, load_amendment
from intake_files import submit
from loaders.sample import encode_return, sample_return

pytestmark = pytest.mark.xdist_group("intake_fiscal_year")  # one module, one worker: one database

PROVINCE = "IC"
JUNE, JULY, AUGUST = dt.date(2025, 6, 1), dt.date(2025, 7, 1), dt.date(2025, 8, 1)


def funds_return(month: dt.date, received: float, spent: float) -> tuple[bytes, str]:
    """The province's sample return for `month`, with its first unit's COP funds set."""
    headers = {c.field: c.header for c in load_amendment(PROVINCE).columns(form_for(month))}
    rows = sample_return(PROVINCE, month)
    rows[0][headers["cop_funds_received_pkr"]] = received
    rows[0][headers["cop_funds_spent_pkr"]] = spent
    return encode_return(rows, PROVINCE), rows[0][headers["unit_code"]]


def fiscal_year_warnings(month: dt.date, received: float, spent: float) -> tuple[list, str]:
    content, unit = funds_return(month, received, spent)
    receipt = submit(content, PROVINCE, month)
    assert receipt.status == "accepted", receipt.summary
    return [p for p in receipt.warnings if p.rule == "W206"], unit


def test_funds_are_judged_over_the_fiscal_year_from_july():
    # June closes the fiscal year 2024-25: its unspent funds do not carry into July.
    assert fiscal_year_warnings(JUNE, received=100_000, spent=10_000)[0] == []
    assert fiscal_year_warnings(JULY, received=50_000, spent=20_000)[0] == []
    # August alone spends more than it receives, but not more than July and August received together.
    assert fiscal_year_warnings(AUGUST, received=0, spent=30_000)[0] == []

    # A revision of August: 20,000 + 40,000 spent since July against 50,000 received.
    warnings, unit = fiscal_year_warnings(AUGUST, received=0, spent=40_000)
    assert [(p.unit_code, p.field, p.value) for p in warnings] == [(unit, "cop_funds_spent_pkr", "40000")]
    assert warnings[0].message.startswith("From 2025-07 to 2025-08, ")
    assert "adds up to 60,000, more than" in warnings[0].message and "(50,000)" in warnings[0].message
    assert warnings[0].severity == "warning"

    # The latest accepted version of an earlier month counts.
    fiscal_year_warnings(JULY, received=80_000, spent=20_000)  # July revised: more funds came in
    # 65,000 spent since July: more than the first July return's 50,000, less than the revision's 80,000.
    assert fiscal_year_warnings(AUGUST, received=0, spent=45_000)[0] == []


def test_the_rule_is_not_a_check_of_one_month():
    form = form_for(AUGUST)
    assert [r.code for r in form.fiscal_year_rules] == ["W206"]
    assert all(r.over == "month" for r in form.cross_field_rules if r.code != "W206")
