"""Warnings drawn from each unit's own history (the DHIS2 outlier idea).

For every unit and indicator: the median and the median absolute deviation
(MAD) of the last N months, from the latest accepted version of each month,
fetched in one query for the whole province; and last month's row, to spot a
copied row. A row of zeros is an explicit no-activity report.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field as dataclass_field
from typing import Callable

import pandas as pd
import psycopg

from cop import db
from cop.security import LOADER_ROLE
from cop.period import add_months, format_period
from cop.spec import HistoryRules
from loaders.problems import Problem, problem

# |x - median| / (1.4826 * MAD): 1.4826 makes the MAD comparable to a standard deviation.
MAD_TO_SIGMA = 1.4826

LATEST_ACCEPTED_MONTHS = """
    select distinct on (period) submission_id, period
    from raw.submissions
    where province_code = %(province)s and status = 'accepted'
      and period >= %(first)s and period < %(month)s
    order by period, version desc
"""

# Median and MAD per unit and indicator, computed by PostgreSQL (on its own core, while Python reads
# and checks the file); only ~26,000 small rows for Punjab come back. The months' submission ids are
# passed as an array, not joined from a subquery: the planner then reads their rows by index instead of
# scanning all of raw.return_values (seconds, once a warehouse holds years of returns).
STATISTICS_QUERY = """
with series as (
    select v.unit_code, v.indicator_code, count(*) as months,
           percentile_cont(0.5) within group (order by v.value::float8) as median,
           array_agg(v.value::float8) as values_
    from raw.return_values v
    where v.submission_id = any(%(submission_ids)s) and v.value is not null
    group by v.unit_code, v.indicator_code
    having count(*) >= %(min_history)s
)
select unit_code, indicator_code, months, median,
       (select percentile_cont(0.5) within group (order by abs(x - median)) from unnest(values_) x) as mad
from series
"""

LAST_MONTH_QUERY = """
select v.unit_code, v.indicator_code, v.value::float8
from raw.submissions s join raw.return_values v on v.submission_id = s.submission_id
where s.submission_id = (
    select submission_id from raw.submissions
    where province_code = %(province)s and period = %(previous)s and status = 'accepted'
    order by version desc limit 1)
"""


@dataclass
class History:
    """What the warehouse knows of a province's units before `month`."""
    previous_month: dt.date | None = None
    # (unit, indicator) -> (months of history, median, MAD)
    statistics: dict[tuple[str, str], tuple[int, float, float]] = dataclass_field(default_factory=dict)
    # unit -> indicator -> value (None = reported as unknown) in the previous month's accepted return
    last_month: dict[str, dict[str, float | None]] = dataclass_field(default_factory=dict)


def fetch_history(province: str, month: dt.date, rules: HistoryRules) -> History:
    """load_history on a connection of its own, so that it can run while the file is read and checked."""
    with db.connect_as(LOADER_ROLE, autocommit=True) as conn:
        return load_history(conn, province, month, rules)


def load_history(conn: psycopg.Connection, province: str, month: dt.date, rules: HistoryRules) -> History:
    parameters = {"province": province, "month": month, "first": add_months(month, -rules.outlier_history_months),
                  "min_history": rules.outlier_min_history, "previous": add_months(month, -1)}
    history = History(previous_month=parameters["previous"])
    parameters["submission_ids"] = [row[0] for row in conn.execute(LATEST_ACCEPTED_MONTHS, parameters)]
    for unit, indicator, months, median, mad in conn.execute(STATISTICS_QUERY, parameters):
        history.statistics[(unit, indicator)] = (months, median, mad)
    for unit, indicator, value in conn.execute(LAST_MONTH_QUERY, parameters):
        history.last_month.setdefault(unit, {})[indicator] = value
    return history


def history_warnings(frame: pd.DataFrame, value_fields: list[str], history: History, rules: HistoryRules,
                     describe_cell: Callable[[int, str], dict]) -> list[Problem]:
    if "unit_code" not in frame or not value_fields:
        return []
    problems: list[Problem] = []
    records = frame[["unit_code", *value_fields]].to_dict("index")
    for row, record in records.items():
        unit = record.pop("unit_code")
        if unit is None:
            continue
        values = {name: (None if math.isnan(value) else value) for name, value in record.items()}
        given = [value for value in values.values() if value is not None]
        if given and all(value == 0 for value in given):
            problems.append(problem("W303", f"Every figure for unit {unit} is zero", **describe_cell(row, "unit_code")))
        elif given and values == {name: history.last_month.get(unit, {}).get(name, math.inf) for name in values}:
            problems.append(problem("W302", f"Every figure for unit {unit} equals its "
                                            f"{format_period(history.previous_month)} return",
                                    **describe_cell(row, "unit_code")))
        problems += _outliers(row, unit, values, history, rules, describe_cell)
    return problems


def _outliers(row: int, unit: str, values: dict[str, float | None], history: History, rules: HistoryRules,
              describe_cell: Callable[[int, str], dict]) -> list[Problem]:
    problems = []
    for name, value in values.items():
        stats = history.statistics.get((unit, name))
        if value is None or stats is None:
            continue
        months, median, mad = stats
        deviation = abs(value - median)
        if deviation < rules.outlier_min_abs_change:
            continue
        score = deviation / (MAD_TO_SIGMA * mad) if mad > 0 else math.inf
        if score > rules.outlier_robust_z:
            cell = describe_cell(row, name)
            spread = MAD_TO_SIGMA * mad
            usual = (f"usually {max(median - 2 * spread, 0):,.0f} to {median + 2 * spread:,.0f}" if mad > 0
                     else f"always {median:,.0f}")
            problems.append(problem("W301", f"'{cell['column']}' is {cell['value']} for unit {unit}; over its last "
                                            f"{months} months it was {usual} (median {median:,.0f})", **cell))
    return problems
