"""The rules of the national return, applied to one province's table.

Order: headers (mapping), cell types (here: a count must be a whole number,
any value a number), the GX suites (missing values, ranges, identity columns,
duplicate units, cross-field comparisons), then the rules that need reference
data or history: the unit registry, paired survey figures, the period itself,
units missing from the file and the unit's own history. Every rule yields
Problems in one shape, with the codes of spec/form.yaml.
"""
from __future__ import annotations

import datetime as dt
import difflib
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
from loaders.history import History, Peer, history_warnings
from loaders.mapping import ColumnMap, map_headers
from loaders.narratives import narrative_problems
from loaders.problems import Problem, problem
from loaders.reading import Table

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
    """Every rule on `table`; `history()` is called last, so that its query can run meanwhile."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    columns, problems = map_headers(table, amendment, form)
    typer = _CellTyper(table, columns, _fields_of(amendment, form), form.narrative_names)
    frame = typer.frame()
    problems += typer.problems
    timings["map"] = time.perf_counter() - started

    started = time.perf_counter()
    outcomes = run_expectations(frame, amendment.province, {PROVINCE_PARAMETER: [amendment.province],
                                                            PERIOD_PARAMETER: [format_period(month)]})
    timings["gx"] = time.perf_counter() - started

    started = time.perf_counter()
    checked = CheckedReturn(table, columns, frame, problems, outcomes, timings,
                            tuple(n for n in form.narrative_names if n in frame))
    rules = _Rules(checked, amendment, form, registry, month, typer.unparsable)
    problems += rules.from_outcomes()
    problems += narrative_problems(frame, form.narratives, rules.describe_cell)
    problems += rules.registry_problems()
    problems += rules.paired_problems()
    problems += rules.missing_units()
    timings["rules"] = time.perf_counter() - started
    started = time.perf_counter()
    known = history()
    timings["history_wait"] = time.perf_counter() - started
    started = time.perf_counter()
    peers = {u.unit_code: Peer(u.population, u.urban_rural, u.district_code)
             for u in registry.units_open(amendment.province, month)}
    problems += history_warnings(frame, checked.value_fields, known, form.history_rules, rules.describe_cell, peers)
    timings["rules"] += time.perf_counter() - started
    return checked


def _fields_of(amendment: Amendment, form: Form) -> dict[str, Field]:
    return {f.name: f for f in (*form.fields, *amendment.local_indicators)}


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


# ---------------------------------------------------------------- rules


class _Rules:
    def __init__(self, checked: CheckedReturn, amendment: Amendment, form: Form, registry: Registry,
                 month: dt.date, unparsable: set[tuple[int, str]]):
        self.checked, self.amendment, self.form, self.registry = checked, amendment, form, registry
        self.month, self.unparsable = month, unparsable
        self.frame, self.columns, self.table = checked.frame, checked.columns, checked.table
        self.position = {row: i for i, row in enumerate(self.table.row_numbers)}
        self.units = self.frame["unit_code"] if "unit_code" in self.frame else None

    # -- helpers

    def text(self, row: int, name: str) -> str | None:
        column = self.columns.columns.get(name)
        return None if column is None else self.table.rows[self.position[row]][column.index]

    def unit_at(self, row: int) -> str | None:
        return None if self.units is None else self.units.at[row]

    def describe_cell(self, row: int, name: str) -> dict:
        """The keyword arguments of `problem` that place a problem on one cell."""
        return dict(row=row, column=self.columns.header(name), value=self.text(row, name), field=name,
                    unit_code=self.unit_at(row))

    def unit_phrase(self, row: int) -> str:
        unit = self.unit_at(row)
        return f" for unit {unit}" if unit else ""

    # -- the GX outcomes

    def from_outcomes(self) -> list[Problem]:
        problems = []
        for outcome in self.checked.outcomes:
            if outcome.success:
                continue
            if outcome.kind == "expect_column_values_to_be_unique":
                problems += self._duplicate_units(outcome.failed_rows)
                continue
            for row in outcome.failed_rows:
                found = self._outcome_problem(outcome, row)
                if found:
                    problems.append(found)
        return problems

    def _outcome_problem(self, outcome: Outcome, row: int) -> Problem | None:
        if outcome.kind == "expect_column_pair_values_a_to_be_greater_than_b":
            left, right = outcome.meta["left"], outcome.meta["right"]
            return problem(outcome.meta["rule"],
                           f"'{self.columns.header(left)}' ({self.text(row, left)}) is more than "
                           f"'{self.columns.header(right)}' ({self.text(row, right)}){self.unit_phrase(row)}",
                           **self.describe_cell(row, left))
        name = outcome.kwargs["column"]
        header, text = self.columns.header(name), self.text(row, name)
        if outcome.kind == "expect_column_values_to_not_be_null":
            if (row, name) in self.unparsable:
                return None  # already reported as "not a number"
            return problem(outcome.meta["rule"], f"'{header}' is empty{self.unit_phrase(row)}",
                           **self.describe_cell(row, name))
        if outcome.kind == "expect_column_values_to_be_between":
            spec = _fields_of(self.amendment, self.form)[name]
            if self.frame.at[row, name] < outcome.kwargs["min_value"]:
                return problem(outcome.meta["rule_below_min"], f"'{header}' is {text}{self.unit_phrase(row)}, "
                                                               f"below zero", **self.describe_cell(row, name))
            return problem(outcome.meta["rule_above_max"],
                           f"'{header}' is {text}{self.unit_phrase(row)}, above the cap of {spec.max:,.0f} "
                           f"{spec.unit} for one station in a month", **self.describe_cell(row, name))
        if outcome.kind == "expect_column_values_to_be_in_set":
            return self._identity_mismatch(outcome.meta["rule"], name, row)
        raise ValueError(f"no problem wording for expectation {outcome.kind}")

    def _identity_mismatch(self, rule: str, name: str, row: int) -> Problem:
        header, text = self.columns.header(name), self.text(row, name)
        if name == "province_code":
            detail = f"'{header}' is '{text}' but this return is for {self.amendment.name} ({self.amendment.province})"
        else:
            detail = f"'{header}' is '{text}' but this return is for {format_period(self.month)}"
            try:
                parse_period(text)
            except ValueError:
                detail = f"'{header}' is '{text}', which is not a month written as YYYY-MM"
        return problem(rule, detail, **self.describe_cell(row, name))

    def _duplicate_units(self, rows: tuple) -> list[Problem]:
        by_unit: dict[str, list[int]] = {}
        for row in rows:
            by_unit.setdefault(self.unit_at(row), []).append(row)
        problems = []
        for unit, unit_rows in by_unit.items():
            listed = ", ".join(str(r) for r in sorted(unit_rows))
            for row in sorted(unit_rows)[1:]:
                problems.append(problem("E034", f"Unit {unit} has {len(unit_rows)} rows (rows {listed})",
                                        **self.describe_cell(row, "unit_code")))
        return problems

    # -- the registry

    def registry_problems(self) -> list[Problem]:
        if self.units is None:
            return []
        districts = self.frame["district_code"] if "district_code" in self.frame else None
        problems = []
        for row, unit in self.units.items():
            if unit is None:
                continue
            found = self._unit_problem(row, unit, None if districts is None else districts.at[row])
            if found:
                problems.append(found)
        return problems

    def _unit_problem(self, row: int, unit: str, district: str | None) -> Problem | None:
        version = self.registry.unit_in(unit, self.month)
        where = self.describe_cell(row, "unit_code")
        if version is None:
            return problem("E030", f"Unit code '{self.text(row, 'unit_code')}' is not in the federal unit registry"
                                   f"{self._close_unit(unit)}", **where)
        if version.province_code != self.amendment.province:
            other = self.registry.province(version.province_code).province_name
            return problem("E031", f"Unit {unit} ({version.unit_name}) belongs to {other}, not to "
                                   f"{self.amendment.name}", **where)
        if not version.is_open_in(self.month):
            when = (f"closed on {version.closed_on.isoformat()}" if version.closed_on and version.closed_on < self.month
                    else f"opened on {version.opened_on.isoformat()}")
            return problem("E033", f"Unit {unit} ({version.unit_name}) {when}, so it cannot report for "
                                   f"{format_period(self.month)}", **where)
        if district is not None and district != version.district_code:
            return problem("E032", f"Unit {unit} is in district {version.district_code} in "
                                   f"{format_period(self.month)}, not '{self.text(row, 'district_code')}'",
                           **self.describe_cell(row, "district_code"))
        return None

    def _close_unit(self, unit: str) -> str:
        codes = [u.unit_code for u in self.registry.units_open(self.amendment.province, self.month)]
        close = difflib.get_close_matches(unit, codes, n=1, cutoff=0.8)
        return f"; did you mean {close[0]}?" if close else ""

    # -- pairs that must be given together

    def paired_problems(self) -> list[Problem]:
        problems = []
        for rule in self.form.cross_field_rules:
            if not rule.paired or rule.left not in self.frame or rule.right not in self.frame:
                continue
            given_left, given_right = self.frame[rule.left].notna(), self.frame[rule.right].notna()
            for row in self.frame.index[given_left != given_right]:
                given, empty = (rule.left, rule.right) if given_left.at[row] else (rule.right, rule.left)
                if (row, empty) in self.unparsable:
                    continue
                problems.append(problem(rule.code, f"'{self.columns.header(given)}' is given but "
                                                   f"'{self.columns.header(empty)}' is empty{self.unit_phrase(row)}",
                                        **self.describe_cell(row, empty)))
        return problems

    # -- units that should have reported

    def missing_units(self) -> list[Problem]:
        if self.units is None:
            return []
        present = set(self.units.dropna())
        return [problem("W304", f"Unit {unit.unit_code} ({unit.unit_name}, district {unit.district_code}) "
                                f"has no row in the file", column=self.columns.header("unit_code"),
                        value=unit.unit_code, field="unit_code", unit_code=unit.unit_code)
                for unit in self.registry.units_open(self.amendment.province, self.month)
                if unit.unit_code not in present]
