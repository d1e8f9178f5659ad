"""The demo looks like a live month: nothing sent after now, and in the latest month due everywhere
most provinces on time, one late, one missing, one rejected."""
from __future__ import annotations

import datetime as dt

from cop.period import months_between
from cop.registry import load_registry
from cop.spec import load_form
from hub.demo import PRESENT, present_month, sample_window, shape_the_present
from hub.generate import ManifestEntry

NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.timezone.utc)


def test_the_present_month_is_the_latest_due_everywhere():
    assert present_month(NOW) == dt.date(2026, 10, 1), "November is not due before mid-December"


def test_one_late_one_missing_one_rejected_and_nothing_from_the_future(tmp_path):
    entries = []
    for province in load_registry().province_codes:
        path = tmp_path / province / f"{province}_2026-10.csv"
        path.parent.mkdir()
        path.write_bytes(b"unit_code,period\nX-1,2026-10\nX-2,2026-10\n")
        entries.append(ManifestEntry(f"{province}/{path.name}", province, "2026-10", "2026-11-08T10:00:00+05:00",
                                     "on_time", "accepted", ""))
    entries.append(ManifestEntry("PB/PB_2026-11.csv", "PB", "2026-11", "2026-12-05T10:00:00+05:00", "on_time",
                                 "accepted", ""))
    shaped = {e.province: e for e in shape_the_present(tmp_path, entries, NOW)}
    assert PRESENT["missing"] not in shaped
    assert all(e.period == "2026-10" for e in shaped.values()), "the file planned for December is not sent yet"
    late = shaped[PRESENT["late"]]
    assert dt.datetime.fromisoformat(late.received_at) > dt.datetime(2026, 11, 11, tzinfo=late_tz(late))
    broken = shaped[PRESENT["rejected"]]
    assert broken.expected_status == "rejected"
    assert (tmp_path / broken.file).read_bytes() == b"unit_code,period\nX-1,2026-09\nX-2,2026-09\n"
    on_time = set(shaped) - {PRESENT["late"], PRESENT["rejected"]}
    assert len(on_time) == len(load_registry().province_codes) - 3 and len(on_time) >= 3, "most on time"


def late_tz(entry):
    return dt.datetime.fromisoformat(entry.received_at).tzinfo


def test_the_demo_holds_months_of_each_form_version_while_the_latest_is_young():
    v2 = load_form().versions[-1].start
    for end in (dt.date(2026, 11, 1), dt.date(2027, 1, 1), dt.date(2027, 9, 1)):
        first, last = sample_window(2, end)
        assert first < v2 <= last and last == end
        assert len(months_between(first, last)) <= 36, "reaching back adds at most a year"
    first, last = sample_window(2, dt.date(2028, 1, 1))
    assert len(months_between(first, last)) == 24, "an old version no longer stretches the demo"
