"""One definition of a province-month's state (review.month_states): the portal's status matrix, the
deadline reminders and the completeness mart agree on every province-month of a small, varied warehouse
(on time, late, rejected, missing, received, returned, approved, locked by approval or by date, unlocked)."""
from __future__ import annotations

import datetime as dt

import pytest

from loaders import approval
from hub import deadlines
from cop.build import build
from cop.period import due_date, format_period, months_between
from cop.registry import load_registry
from cop.spec import load_amendment
from loaders.intake import submit_file
from loaders.sample import encode_return, sample_return
from portal import status

UTC = dt.timezone.utc
FIRST, LAST = dt.date(2025, 1, 1), dt.date(2025, 4, 1)
pytestmark = pytest.mark.slow


def send(province: str, month: dt.date, day: str, seed: int = 0, broken: bool = False):
    content = b"not a return\n" if broken else encode_return(sample_return(province, month, seed=seed), province)
    return submit_file(content, "return.csv", province, month, "tests",
                       received_at=dt.datetime.fromisoformat(day).replace(hour=9, tzinfo=UTC))


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


@pytest.fixture(scope="module")
def warehouse(review_database):
    m = {month.month: month for month in months_between(FIRST, LAST)}
    send("SD", m[1], "2025-02-05")                                    # on time, approved: locked
    approval.approve("SD", m[1], "reviewer", at=at("2025-02-20"))
    send("SD", m[2], "2025-03-14")                                    # late, received: locked by date now
    send("SD", m[3], "2025-04-02")                                    # on time, returned
    approval.return_month("SD", m[3], "reviewer", "totals do not add up", at=at("2025-04-15"))
    send("SD", m[4], "2025-05-08", broken=True)                      # rejected
    send("IC", m[2], "2025-03-01")                                    # on time, revised before the lock date
    send("IC", m[2], "2025-03-20", seed=5)
    send("IC", m[3], "2025-04-20")                                    # late, approved, then unlocked
    approval.approve("IC", m[3], "reviewer", at=at("2025-04-25"))
    approval.unlock("IC", m[3], "reviewer", "a district total to correct")
    send("GB", m[1], "2025-02-01", broken=True)                      # rejected, then accepted late
    send("GB", m[1], "2025-02-25")
    result = build()
    assert result.success, result.failure_report()
    return m


def mart_states(conn) -> dict:
    return {(p, m): (r, v, lock) for p, m, r, v, lock in conn.execute(
        "select province_code, month, reporting_state, review_state, is_locked from marts.rpt_reporting_completeness "
        "where month between %s and %s", (FIRST, LAST))}


def portal_states() -> dict:
    matrix = status.status_matrix(LAST, 4)
    return {(c.province_code, c.month): (c.state, c.review_state, c.is_locked)
            for p in matrix.provinces for c in p.cells}


def reminder_states() -> dict:
    states = {}
    for province in load_registry().province_codes:
        for month in months_between(FIRST, LAST):
            today = due_date(month, load_amendment(province).due_day) + dt.timedelta(days=1)
            (deadline,) = deadlines.check_deadlines(today, [province]).provinces
            assert deadline.period == format_period(month)
            states[(province, month)] = (deadline.reporting_state, deadline.review_state, deadline.is_locked)
    return states


def test_portal_reminders_and_mart_agree_on_every_province_month(warehouse, conn):
    mart = mart_states(conn)
    assert len(mart) == 7 * 4
    assert portal_states() == mart
    assert reminder_states() == mart
    m = warehouse
    assert mart[("SD", m[1])] == ("on_time", "approved", True)
    assert mart[("SD", m[2])] == ("late", "received", True)
    assert mart[("SD", m[3])] == ("on_time", "returned", False)
    assert mart[("SD", m[4])] == ("rejected", "awaiting", False)
    assert mart[("IC", m[1])] == ("missing", "awaiting", False)
    assert mart[("IC", m[2])] == ("on_time", "received", True)
    assert mart[("IC", m[3])] == ("late", "approved", False)
    assert mart[("GB", m[1])] == ("late", "received", True)


def test_the_reminder_says_a_returned_month_is_outstanding_and_why(warehouse):
    today = due_date(warehouse[3], 10) + dt.timedelta(days=1)
    (sindh,) = deadlines.check_deadlines(today, ["SD"]).provinces
    assert sindh.status == "returned" and sindh.outstanding
    assert "returned by the federal desk" in sindh.sentence() and "totals do not add up" in sindh.sentence()
