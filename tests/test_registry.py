"""The federal unit registry: complete, consistent and with history."""
from __future__ import annotations

import datetime as dt
from collections import Counter

from cop.registry import load_registry

KARACHI_DISTRICTS = {"KHE": "Karachi East", "KHW": "Karachi West", "KHS": "Karachi South",
                     "KHC": "Karachi Central", "KHK": "Korangi", "KHM": "Malir", "KHR": "Keamari"}


def test_all_seven_provinces_and_their_real_districts():
    registry = load_registry()
    assert registry.province_codes == ["PB", "SD", "KP", "BA", "IC", "GB", "AJ"]
    names = {(d.province_code, d.district_code): d.district_name for d in registry.districts}
    for code, name in KARACHI_DISTRICTS.items():
        assert names[("SD", code)] == name
    for province, name in [("PB", "Lahore"), ("KP", "Peshawar"), ("BA", "Quetta"), ("IC", "Islamabad")]:
        assert name in {n for (p, _), n in names.items() if p == province}


def test_at_least_1500_stations_with_unique_codes_in_known_districts():
    registry = load_registry()
    districts = {(d.province_code, d.district_code) for d in registry.districts}
    codes = {v.unit_code for v in registry.unit_versions}
    assert len(codes) >= 1500
    versions = Counter((v.unit_code, v.valid_from) for v in registry.unit_versions)
    assert max(versions.values()) == 1
    for version in registry.unit_versions:
        assert (version.province_code, version.district_code) in districts
        assert version.unit_code.startswith(version.province_code + "-")
        assert version.urban_rural in ("urban", "rural") and version.population > 0


def test_versions_of_a_unit_do_not_overlap():
    registry = load_registry()
    by_unit: dict[str, list] = {}
    for version in registry.unit_versions:
        by_unit.setdefault(version.unit_code, []).append(version)
    for versions in by_unit.values():
        for earlier, later in zip(versions, versions[1:]):
            assert earlier.valid_to is not None and earlier.valid_to < later.valid_from


def test_history_in_the_demo_years_openings_closings_and_a_move():
    registry = load_registry()
    opened = [v for v in registry.unit_versions if v.opened_on.year >= 2024]
    closed = [v for v in registry.unit_versions if v.closed_on]
    assert len(opened) >= 5 and len(closed) >= 3
    moved = registry.unit_in("PB-MZG-020", dt.date(2024, 12, 1)), registry.unit_in("PB-MZG-020", dt.date(2025, 1, 1))
    assert [v.district_code for v in moved] == ["MZG", "KTA"]


def test_units_open_follows_opening_and_closing_dates():
    registry = load_registry()
    closed = next(v for v in registry.unit_versions if v.closed_on)
    last_month = closed.closed_on.replace(day=1)
    after = (closed.closed_on + dt.timedelta(days=1)).replace(day=1)
    assert closed.unit_code in open_codes_of(registry, closed.province_code, last_month)
    assert closed.unit_code not in open_codes_of(registry, closed.province_code, after)
    new = next(v for v in registry.unit_versions if v.opened_on.year >= 2024)
    before = (new.opened_on - dt.timedelta(days=1)).replace(day=1)
    assert new.unit_code not in open_codes_of(registry, new.province_code, before)
    assert new.unit_code in open_codes_of(registry, new.province_code, new.opened_on.replace(day=1))


def open_codes_of(registry, province, month):
    return {u.unit_code for u in registry.units_open(province, month)}


def test_punjab_is_a_realistic_700_unit_province():
    units = load_registry().units_open("PB", dt.date(2025, 6, 1))
    assert 680 <= len(units) <= 740
