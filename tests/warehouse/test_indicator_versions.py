"""The warehouse across the v1/v2 boundary of the form: the indicator dimension knows when each indicator is
collected, the facts hold NULL (not collected) for v2 indicators before v2, completeness tells "not
collected" from "not reported", and the narratives mart keeps each text exactly, with the desk's decision."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from cop.spec import load_form

pytestmark = pytest.mark.xdist_group("warehouse_form_versions")

V2 = load_form().versions[1].start
DEC, JAN = dt.date(2024, 12, 1), dt.date(2025, 1, 1)
HOSTILE = "=HYPERLINK(\"http://x\",\"<script>alert(1)</script>\") \u202eسیلاب\u202c CNIC 35202-1234567-1"
URDU = "کھلی کچہری میں پچاس شہریوں نے شرکت کی۔"


@pytest.fixture(scope="module")
def narratives(scenario, warehouse_conn):
    """Narratives of IC's current January version (and of the version it replaced, which must not show)."""
    rows = [(scenario.ids["ic_jan_v2"], "IC-ISB-001", "achievement", URDU, None),
            (scenario.ids["ic_jan_v2"], "IC-ISB-002", "success_story", HOSTILE, "a CNIC number"),
            (scenario.ids["ic_jan_v2"], "IC-ISB-003", "success_story", "Stolen tractor returned to a farmer.", None),
            (scenario.ids["ic_jan_v1"], "IC-ISB-001", "challenge", "replaced by version 2", None)]
    with warehouse_conn.cursor().copy("copy raw.return_narratives (submission_id, unit_code, narrative_code, "
                                      "text, personal_data) from stdin") as copy:
        for row in rows:
            copy.write_row(row)
    story = "Stolen tractor returned to a farmer."
    for publishable, at in ((True, "2025-03-01 10:00+05"), (False, "2025-03-02 10:00+05"), (True, "2025-03-03 10:00+05")):
        warehouse_conn.execute(
            "insert into review.story_decisions (unit_code, period, narrative_code, text_sha256, publishable, actor, at)"
            " values ('IC-ISB-003', %s, 'success_story', %s, %s, 'reviewer', %s)",
            (JAN, hashlib.sha256(story.encode()).hexdigest(), publishable, at))
    # A decision on another text of the same story does not carry over.
    warehouse_conn.execute(
        "insert into review.story_decisions (unit_code, period, narrative_code, text_sha256, publishable, actor)"
        " values ('IC-ISB-001', %s, 'achievement', %s, true, 'reviewer')", (JAN, "0" * 64))
    return rows


@pytest.fixture(scope="module")
def built_with_narratives(narratives):
    from cop.build import build

    result = build()
    assert result.success, result.failure_report()
    return result


def test_the_indicator_dimension_knows_when_each_indicator_is_collected(built_with_narratives, warehouse_conn):
    spans = dict((code, (first_version, first_month, last_month)) for code, first_version, first_month, last_month in
                 warehouse_conn.execute("select indicator_code, first_version, first_month, last_month "
                                        "from marts.dim_indicator where scope = 'national'"))
    assert spans["homicide"] == (1, dt.date(2015, 1, 1), None)
    assert spans["terrorism_deaths"] == (2, V2, None)
    assert len(spans) == len(load_form().fields)
    versions = warehouse_conn.execute("select form_version, first_month from raw.ref_form_versions "
                                      "order by 1").fetchall()
    assert versions == [(1, dt.date(2015, 1, 1)), (2, V2)]


def test_v2_indicators_are_null_before_v2_and_carried_after(built_with_narratives, warehouse_conn):
    rows = {month: counts for month, *counts in warehouse_conn.execute(
        "select month, count(*), count(terrorism_deaths), count(homicide) from marts.fct_unit_month "
        "where province_code = 'IC' group by month")}
    assert rows[DEC] == [26, 0, 26] and rows[JAN] == [26, 26, 26]


def test_completeness_tells_not_collected_from_not_reported(built_with_narratives, warehouse_conn):
    def state(province, month, indicator):
        return warehouse_conn.execute(
            "select collection_state, units_with_value, units_unknown from marts.rpt_indicator_completeness "
            "where province_code = %s and month = %s and indicator_code = %s", (province, month, indicator)).fetchone()

    assert state("IC", DEC, "terrorism_deaths") == ("not_collected", 0, 0)
    assert state("IC", DEC, "homicide") == ("reported", 26, 0)
    assert state("IC", JAN, "terrorism_deaths") == ("reported", 26, 0)
    assert state("IC", JAN, "youth_participants") == ("reported", 25, 1)
    assert state("SD", JAN, "terrorism_deaths") == ("not_reported", 0, 0)   # SD sent only a duplicate
    assert state("KP", DEC, "terrorism_deaths") == ("not_collected", 0, 0)  # not asked for: not a gap
    assert state("KP", DEC, "homicide") == ("not_reported", 0, 0)


def test_the_narratives_mart_keeps_each_text_exactly_with_the_desks_latest_decision(built_with_narratives,
                                                                                     warehouse_conn):
    rows = warehouse_conn.execute(
        "select unit_code, narrative_code, text, personal_data, is_publishable, decided_by "
        "from marts.fct_unit_month_narrative where province_code = 'IC' order by unit_code").fetchall()
    assert rows == [("IC-ISB-001", "achievement", URDU, None, False, None),
                    ("IC-ISB-002", "success_story", HOSTILE, "a CNIC number", False, None),
                    ("IC-ISB-003", "success_story", "Stolen tractor returned to a farmer.", None, True, "reviewer")]
