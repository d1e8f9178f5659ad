"""A month's life under federal review: received, returned (the province sees why), resubmitted,
approved, locked (a revision is refused), unlocked, revised, approved again, every step audited; and
the refusals of decisions that make no sense."""
from __future__ import annotations

import datetime as dt

import pytest

from loaders import approval
from loaders.approval import ReviewRefused
from loaders.intake import MonthLocked, submit_file
from loaders.sample import encode_return, sample_return

UTC = dt.timezone.utc
MONTH = dt.date(2025, 3, 1)  # SD: due 2025-04-10 (end of day, PKT); locks 60 days later


def at(day: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def send(month: dt.date, seed: int, when: dt.datetime, dry_run: bool = False):
    content = encode_return(sample_return("SD", month, seed=seed), "SD")
    return submit_file(content, f"SD_{month:%Y-%m}_{seed}.csv", "SD", month, "sd.clerk", channel="portal",
                       received_at=when, dry_run=dry_run)


def test_a_month_walks_through_review_and_every_step_is_audited(review_database):
    first = send(MONTH, 1, at("2025-04-08"))
    assert approval.state("SD", MONTH, at("2025-04-08", 10)).review_state == "received"

    approval.return_month("SD", MONTH, "reviewer", "Karachi South stations report zero FIRs: check the figures",
                          at=at("2025-04-12"))
    returned = approval.state("SD", MONTH, at("2025-04-12", 10))
    assert (returned.review_state, returned.is_locked) == ("returned", False)
    assert returned.return_reason == "Karachi South stations report zero FIRs: check the figures"

    resubmitted = send(MONTH, 2, at("2025-04-20"))
    assert resubmitted.status == "accepted" and resubmitted.supersedes == first.submission_id
    assert approval.state("SD", MONTH, at("2025-04-20", 10)).review_state == "received"

    approved = approval.approve("SD", MONTH, "reviewer", at=at("2025-04-22"))
    assert (approved.review_state, approved.is_locked, approved.lock_reason) == ("approved", True, "approved")

    with pytest.raises(MonthLocked) as refused:
        send(MONTH, 3, at("2025-04-25"))
    message = str(refused.value)
    assert "SD 2025-03 is locked because the federal desk approved it" in message
    assert "cop month unlock SD 2025-03" in message and "Check the file only" in message
    assert send(MONTH, 3, at("2025-04-25"), dry_run=True).status == "accepted"  # check-only stays available

    unlocked = approval.unlock("SD", MONTH, "reviewer", "Province found a typo in Hyderabad", days=3,
                               at=at("2025-04-26"))
    assert not unlocked.is_locked and unlocked.unlocked_until == at("2025-04-29")
    revised = send(MONTH, 4, at("2025-04-27"))
    assert revised.status == "accepted" and revised.version == 3
    assert approval.state("SD", MONTH, at("2025-04-27", 10)).review_state == "received"

    again = approval.approve("SD", MONTH, "reviewer", note="typo fixed", at=at("2025-04-28"))
    assert (again.review_state, again.is_locked, again.current_version) == ("approved", True, 3)
    with pytest.raises(MonthLocked):  # an approval ends the unlock before its time
        send(MONTH, 5, at("2025-04-28", 12))

    events = [(e.event, e.actor, e.version) for e in approval.month_log("SD", MONTH)]
    assert events == [
        ("submission accepted", "sd.clerk", 1), ("return", "reviewer", None),
        ("submission accepted", "sd.clerk", 2), ("approve", "reviewer", None),
        ("refuse_revision", "sd.clerk", None), ("unlock", "reviewer", None),
        ("submission accepted", "sd.clerk", 3), ("approve", "reviewer", None),
        ("refuse_revision", "sd.clerk", None)]
    reasons = {e.event: e.detail for e in approval.month_log("SD", MONTH) if e.event in ("return", "unlock")}
    assert reasons == {"return": "Karachi South stations report zero FIRs: check the figures",
                       "unlock": "Province found a typo in Hyderabad"}


def test_a_received_month_locks_by_date_and_an_unlock_expires(review_database):
    month = dt.date(2025, 1, 1)  # due 2025-02-10, locks at the end of 2025-04-11 (60 days on), Pakistan time
    send(month, 1, at("2025-02-05"))
    before = approval.state("SD", month, at("2025-04-09"))
    assert (before.review_state, before.is_locked) == ("received", False)
    assert send(month, 2, at("2025-04-11", 18)).status == "accepted"  # revisions until the lock date
    with pytest.raises(MonthLocked, match=r"its lock date \(end of 11 Apr 2025, Pakistan time\) has passed"):
        send(month, 3, at("2025-04-11", 19))
    approval.unlock("SD", month, "reviewer", "late correction agreed by phone", days=1, at=at("2025-04-13"))
    assert send(month, 3, at("2025-04-13", 15)).status == "accepted"
    with pytest.raises(MonthLocked):  # the unlock has run out
        send(month, 4, at("2025-04-14", 10))


def test_a_file_stamped_before_the_approval_cannot_slip_into_the_approved_month(review_database):
    month = dt.date(2025, 2, 1)
    send(month, 1, at("2025-03-05"))
    approval.approve("SD", month, "reviewer", at=at("2025-03-08"))
    with pytest.raises(MonthLocked, match="approved it"):  # a drop-folder file uploaded on the 6th, taken on the 9th
        send(month, 2, at("2025-03-06"))


def test_decisions_that_make_no_sense_are_refused_and_nothing_is_recorded(review_database, conn):
    rejected_month, missing_month = dt.date(2025, 5, 1), dt.date(2025, 6, 1)
    broken = b"this is not a return\n"
    assert submit_file(broken, "bad.csv", "SD", rejected_month, "sd.clerk", received_at=at("2025-06-05")).status \
        == "rejected"
    before = conn.execute("select count(*) from review.actions").fetchone()[0]
    with pytest.raises(ReviewRefused, match="were all rejected, so there are no figures to approve"):
        approval.approve("SD", rejected_month, "reviewer", at=at("2025-06-06"))
    with pytest.raises(ReviewRefused, match="no return has been received"):
        approval.approve("SD", missing_month, "reviewer", at=at("2025-07-20"))

    send(dt.date(2025, 4, 1), 1, at("2025-05-05"))
    with pytest.raises(ReviewRefused, match="'sd.clerk' is a province account .SD.: only the federal desk"):
        approval.approve("SD", dt.date(2025, 4, 1), "sd.clerk", at=at("2025-05-06"))
    with pytest.raises(ReviewRefused, match="not a portal account"):
        approval.approve("SD", dt.date(2025, 4, 1), "nobody", at=at("2025-05-06"))
    with pytest.raises(ReviewRefused, match="needs a reason"):
        approval.return_month("SD", dt.date(2025, 4, 1), "reviewer", "  ", at=at("2025-05-06"))
    with pytest.raises(ReviewRefused, match="is not locked"):
        approval.unlock("SD", dt.date(2025, 4, 1), "reviewer", "why not", at=at("2025-05-06"))
    assert conn.execute("select count(*) from review.actions").fetchone()[0] == before


def test_the_audit_log_cannot_be_rewritten(review_database, conn):
    import psycopg

    with pytest.raises(psycopg.errors.RaiseException, match="audit log"):
        conn.execute("delete from review.actions")


def test_the_lock_delay_comes_from_the_form_and_a_province_may_set_its_own(tmp_path):
    from cop.paths import SPEC_DIR
    from cop.spec import SpecError, load_amendment, load_form, parse_amendment

    form = load_form()
    assert form.default_lock_after_days == 60 and load_amendment("SD").lock_after_days == 60
    own = tmp_path / "SD.yaml"
    own.write_text((SPEC_DIR / "amendments" / "SD.yaml").read_text(encoding="utf-8") + "lock_after_days: 90\n",
                   encoding="utf-8")
    assert parse_amendment(own, form).lock_after_days == 90
    own.write_text(own.read_text(encoding="utf-8").replace("lock_after_days: 90", "lock_after_days: -1"),
                   encoding="utf-8")
    with pytest.raises(SpecError, match="lock_after_days"):
        parse_amendment(own, form)
