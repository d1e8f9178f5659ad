"""W301 (rule version 4) on known histories, without a database: the band, the extra-0 slip and two
neighbouring figures typed in each other's columns."""
from __future__ import annotations

import pandas as pd

from cop.spec import load_form
from loaders.history import History, OutlierBand

FIELDS = ["open_courts_held", "neighbourhood_watch_groups_active", "liaison_committee_meetings"]
# Over 12 months: ~40 open courts, ~6 watch groups, ~20 liaison meetings.
LEVELS = dict(zip(FIELDS, (40.0, 6.0, 20.0)))


def warnings_for(rows: list[dict]) -> list:
    # 12 months around the level, from 70% to 130% of it
    history = History(statistics={(row["unit_code"], name): (12, level, 0.0, 0.7 * level, 1.3 * level)
                                  for row in rows for name, level in LEVELS.items()})
    frame = pd.DataFrame(rows, index=range(2, 2 + len(rows)))[["unit_code", *FIELDS]]
    band = OutlierBand(frame, history, load_form().history_rules, peers={})
    return band.problems(lambda row, name: {"row": row, "column": name, "value": str(frame.at[row, name]),
                                            "field": name, "unit_code": frame.at[row, "unit_code"]})


def test_ordinary_months_raise_nothing():
    rows = [{"unit_code": f"U{i}", "open_courts_held": 40 + i % 7 - 3,
             "neighbourhood_watch_groups_active": 6 + i % 3 - 1, "liaison_committee_meetings": 20 + i % 5 - 2}
            for i in range(40)]
    assert warnings_for(rows) == []


def test_two_neighbouring_figures_swapped_are_flagged_together():
    # 40 and 6 typed in each other's columns: 6 open courts is odd, 40 watch groups is odd, each alone not
    # beyond the band's tail; together they are, and swapped back both are ordinary.
    rows = [{"unit_code": "U1", "open_courts_held": 6, "neighbourhood_watch_groups_active": 40,
             "liaison_committee_meetings": 21}]
    problems = warnings_for(rows)
    assert sorted(p.field for p in problems) == ["neighbourhood_watch_groups_active", "open_courts_held"]
    assert all("were the two figures typed in each other's columns?" in p.message for p in problems)
    assert "its neighbour 'neighbourhood_watch_groups_active' is 40" in problems[0].message


def test_a_value_with_an_extra_zero_is_flagged_with_the_value_meant():
    rows = [{"unit_code": "U1", "open_courts_held": 41, "neighbourhood_watch_groups_active": 6,
             "liaison_committee_meetings": 210}]
    [problem] = warnings_for(rows)
    assert problem.field == "liaison_committee_meetings"
    assert "was 21 meant (an extra 0 typed)?" in problem.message


def test_a_swap_that_leaves_a_figure_odd_is_not_called_a_swap():
    # 6 courts and 400 watch groups: swapped back, 400 courts is still far from 40: a plain outlier.
    rows = [{"unit_code": "U1", "open_courts_held": 40, "neighbourhood_watch_groups_active": 400,
             "liaison_committee_meetings": 20}]
    [problem] = warnings_for(rows)
    assert problem.field == "neighbourhood_watch_groups_active"
    assert "were the two figures" not in problem.message


def test_attendance_is_judged_against_the_meetings_held_that_month():
    # ~3 meetings a month of ~28 people each; attendance on its own swings with the meetings.
    fields, levels = ["community_meetings_held", "community_meeting_attendance"], (3.0, 84.0)
    history = History(statistics={("U1", name): (12, level, 0.3, 0.0, 4 * level) for name, level in zip(fields, levels)},
                      per_event={("U1", "community_meeting_attendance"): 28.0})
    rows = [{"unit_code": "U1", "community_meetings_held": 1, "community_meeting_attendance": 91},   # 19 typed as 91
            {"unit_code": "U1", "community_meetings_held": 5, "community_meeting_attendance": 150},  # an ordinary month
            {"unit_code": "U1", "community_meetings_held": 30, "community_meeting_attendance": 84}]  # the meetings are off
    frame = pd.DataFrame(rows, index=[2, 3, 4])
    band = OutlierBand(frame, history, load_form().history_rules, peers={})
    problems = band.problems(lambda row, name: {"row": row, "column": name, "value": str(frame.at[row, name]),
                                                "field": name, "unit_code": "U1"})
    assert [(p.row, p.field) for p in problems] == [(2, "community_meeting_attendance"), (4, "community_meetings_held")]
    assert "with 1 in 'community_meetings_held' this month, about 28 is usual" in problems[0].message
