"""One province's table judged: headers (mapping), cell types (here: a count must be a whole number,
any value a number), then the rules of loaders/rules.py. Those are the GX suites (missing values,
ranges, identity columns, duplicate units, cross-field comparisons), each failure worded by its rule,
and then the rules that need reference data or history. Every rule yields Problems in one shape, with
the codes of spec/form.yaml.
"""
from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field as dataclass_field
from typing import Callable

import numpy as np
import pandas as pd

from cop.period import format_period, last_completed_month, parse_period
from cop.registry import Registry
from cop.spec import IDENTITY_FIELDS, Amendment, Field, Form
from expectations.runner import Outcome, run_expectations
from expectations.suites import PERIOD_PARAMETER, PROVINCE_PARAMETER
from loaders.history import History
from loaders.mapping import ColumnMap, map_headers
from loaders.problems import Problem, problem
from loaders.reading import Table
from loaders.rules import ReturnUnderCheck, fields_of, found_by_rules, worded_outcomes

NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
NUMBER_WITH_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
CODE_FIELDS = ("province_code", "district_code", "unit_code")


@dataclass
class CheckedReturn:
    """A table after every rule: the typed frame (index = file row numbers), problems and GX outcomes."""
    table: Table
    columns: ColumnMap
    frame: pd.DataFrame
    problems: list[Problem]
    outcomes: list[Outcome] = dataclass_field(default_factory=list)
    timings: dict[str, float] = dataclass_field(default_factory=dict)

    narrative_fields: tuple[str, ...] = ()

    @property
    def value_fields(self) -> list[str]:
        """The numeric columns (national and local indicators) the file has."""
        return [name for name in self.frame.columns
                if name not in IDENTITY_FIELDS and name not in self.narrative_fields]


def period_problems(month: dt.date, form: Form, today: dt.date) -> list[Problem]:
    """The month itself: not before the programme, not a month that has not ended yet."""
    start, last = parse_period(form.programme_start), last_completed_month(today)
    if month < start:
        return [problem("E022", f"{format_period(month)} is before the programme started ({form.programme_start})",
                        value=format_period(month), field="period")]
    if month > last:
        return [problem("E022", f"{format_period(month)} has not ended yet: the latest month that can be "
                                f"submitted on {today.isoformat()} is {format_period(last)}",
                        value=format_period(month), field="period")]
    return []


def check_return(table: Table, amendment: Amendment, form: Form, registry: Registry, month: dt.date,
                 history: Callable[[], History]) -> CheckedReturn:
    """Every rule on `table` (loaders/rules.py); `history()` is called last, so that its query can run
    meanwhile."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    columns, problems = map_headers(table, amendment, form)
    typer = _CellTyper(table, columns, fields_of(amendment, form), form.narrative_names)
    frame = typer.frame()
    problems += typer.problems
    timings["map"] = time.perf_counter() - started

    started = time.perf_counter()
    outcomes = run_expectations(frame, amendment.province, {PROVINCE_PARAMETER: [amendment.province],
                                                            PERIOD_PARAMETER: [format_period(month)]})
    timings["gx"] = time.perf_counter() - started

    started = time.perf_counter()
    ret = ReturnUnderCheck(table, columns, frame, amendment, form, registry, month, typer.unparsable,
                           _timed_once(history, timings, "history_wait"))
    problems += worded_outcomes(ret, outcomes)
    problems += found_by_rules(ret)
    timings["rules"] = time.perf_counter() - started - timings.get("history_wait", 0.0)
    return CheckedReturn(table, columns, frame, problems, outcomes, timings,
                         tuple(n for n in form.narrative_names if n in frame))


def _timed_once(ask: Callable[[], History], timings: dict[str, float], key: str) -> Callable[[], History]:
    """`ask` called once (the history crosses the sandbox's pipe once), the wait recorded under `key`."""
    answer: list[History] = []

    def timed() -> History:
        if not answer:
            started = time.perf_counter()
            try:
                answer.append(ask())
            finally:
                timings[key] = time.perf_counter() - started
        return answer[0]
    return timed


# ---------------------------------------------------------------- cell types


def parse_number(text: str) -> float | None:
    """A number as people write it in a return ('12', '3.5', '1,250'), or None when it is not one."""
    try:
        return float(int(text))
    except ValueError:
        pass
    if NUMBER.match(text):
        return float(text)
    if NUMBER_WITH_THOUSANDS.match(text):
        return float(text.replace(",", ""))
    return None


class _CellTyper:
    """Text cells -> the typed frame GX checks; cells that are not numbers become problems (and NaN)."""

    def __init__(self, table: Table, columns: ColumnMap, fields: dict[str, Field], narratives: tuple[str, ...]):
        self.table, self.columns, self.fields, self.narratives = table, columns, fields, narratives
        self.problems: list[Problem] = []
        self.unparsable: set[tuple[int, str]] = set()

    def frame(self) -> pd.DataFrame:
        data: dict[str, object] = {}
        for name, column in self.columns.columns.items():
            cells = [row[column.index] for row in self.table.rows]
            if name in IDENTITY_FIELDS:
                data[name] = pd.Series([_identity_text(name, cell) for cell in cells], dtype="object")
            elif name in self.narratives:
                data[name] = pd.Series(cells, dtype="object")  # the text as written, never parsed
            else:
                data[name] = np.array([self._number(cell, row, name) for cell, row in
                                       zip(cells, self.table.row_numbers)], dtype="float64")
        frame = pd.DataFrame(data)
        frame.index = pd.Index(self.table.row_numbers)  # unnamed: GX then reports failing rows by label
        return frame

    def _number(self, cell: str | None, row: int, name: str) -> float:
        if cell is None:
            return np.nan
        value = parse_number(cell)
        spec = self.fields[name]
        header = self.columns.header(name)
        if value is None:
            self.unparsable.add((row, name))
            self.problems.append(problem("E041", f"'{header}' has '{cell}', which is not a number",
                                         row=row, column=header, value=cell, field=name))
            return np.nan
        if spec.type == "count" and not value.is_integer():
            self.problems.append(problem("E043", f"'{header}' is {cell}, but it counts {spec.unit}, so it must be "
                                                 f"a whole number", row=row, column=header, value=cell, field=name))
        return value


def _identity_text(name: str, cell: str | None) -> str | None:
    if cell is None:
        return None
    return cell.upper() if name in CODE_FIELDS else cell
