"""Every rule of the return's content as one object: the codes it raises (their titles and fixes are the
catalogue in spec/form.yaml), its check, and the wording of each problem it finds.

A check that Great Expectations can express is contributed to the suites (`expectations`). GX runs it,
and each failure comes back to the rule that contributed it: every expectation carries the rule's name
in meta["check"], and the rule words the failure (`worded`). A check GX cannot express runs here on the
typed return (`found`). These are the free-text fields, the unit registry, pairs of figures given
together, units missing from the file, and the unit's own history.

The checks of the file's shape come before these rules, because the rules need a typed table. Those
checks are reading (E00x), headers (E01x, loaders/mapping.py), the month (E022) and cell types
(E041, E043, loaders/validation.py).
"""
from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from typing import Callable, ClassVar

import numpy as np
import pandas as pd

from cop.period import fiscal_year_start, format_period, parse_period
from cop.registry import Registry, load_registry
from cop.spec import IDENTITY_FIELDS, Amendment, Field, Form, load_amendment, load_form
from expectations.runner import Outcome
from expectations.suites import (NATIONAL_SUITE, PERIOD_PARAMETER, PROVINCE_PARAMETER, expectation,
                                 local_suite_name, suite)
from loaders.history import History, Peer, history_warnings
from loaders.mapping import ColumnMap
from loaders.narratives import narrative_problems
from loaders.problems import Problem, problem
from loaders.reading import Table

# Identity columns: the rule a missing value breaks.
IDENTITY_MISSING_RULES = {"province_code": "E020", "district_code": "E032", "unit_code": "E035", "period": "E021"}


@dataclass(frozen=True)
class SuiteScope:
    """What one suite checks: the fields it covers; the national suite also covers the identity
    columns and the cross-field rules."""
    form: Form
    fields: tuple[Field, ...]
    national: bool


@dataclass
class ReturnUnderCheck:
    """One province's typed return and what the rules need to judge it and to place each problem on
    its cell (row number in the file, header as the province wrote it, the unit)."""
    table: Table
    columns: ColumnMap
    frame: pd.DataFrame            # typed values, indexed by the file's row numbers
    amendment: Amendment
    form: Form
    registry: Registry
    month: dt.date
    unparsable: set[tuple[int, str]]   # (row, field) cells already reported as not a number
    history: Callable[[], History]     # asked last, so that its query runs while the other rules do

    def __post_init__(self) -> None:
        self.position = {row: i for i, row in enumerate(self.table.row_numbers)}
        self.units = self.frame["unit_code"] if "unit_code" in self.frame else None

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

    def field(self, name: str) -> Field:
        return fields_of(self.amendment, self.form)[name]


def fields_of(amendment: Amendment, form: Form) -> dict[str, Field]:
    """The numeric fields a return of this province may carry: the national ones and its local ones."""
    return {f.name: f for f in (*form.fields, *amendment.local_indicators)}


class Rule:
    """One rule: `name` ties the expectations it contributes to the wording of their failures."""
    name: ClassVar[str]

    def expectations(self, scope: SuiteScope) -> list[dict]:
        return []

    def worded(self, ret: ReturnUnderCheck, outcome: Outcome) -> list[Problem]:
        return []

    def found(self, ret: ReturnUnderCheck) -> list[Problem]:
        return []

    def _expectation(self, kind: str, kwargs: dict, meta: dict, severity: str = "error") -> dict:
        return expectation(kind, kwargs, {"check": self.name, **meta}, severity)


class NotEmpty(Rule):
    """E040 for a required field, and E020, E021, E032 and E035 for an empty identity column: one
    expectation for all of them, each column with its rule."""
    name = "not_empty"

    def expectations(self, scope: SuiteScope) -> list[dict]:
        wanted = dict(IDENTITY_MISSING_RULES) if scope.national else {}
        wanted |= {field.name: "E040" for field in scope.fields if field.required}
        if not wanted:
            return []
        return [self._expectation("expect_multicolumn_values_to_not_be_null", {"column_list": list(wanted)},
                                  {"rule_by_column": wanted})]

    def worded(self, ret: ReturnUnderCheck, outcome: Outcome) -> list[Problem]:
        return [problem(outcome.meta["rule_by_column"][name], f"'{ret.columns.header(name)}' is empty"
                                                              f"{ret.unit_phrase(row)}", **ret.describe_cell(row, name))
                for row, name in _failed_cells(ret, outcome, lambda values: values.isna())
                if (row, name) not in ret.unparsable]


class WithinRange(Rule):
    """E042 below zero, E044 above the field's cap. One range check covers every field, which is
    cheaper than two per field; the side of the range a value is on picks the code."""
    name = "within_range"

    def expectations(self, scope: SuiteScope) -> list[dict]:
        if not scope.fields:
            return []
        return [self._expectation("expect_multicolumn_values_to_be_between",
                                  {"column_list": [field.name for field in scope.fields], "min_value": 0,
                                   "max_values": {field.name: _number(field.max) for field in scope.fields}},
                                  {"rule_below_min": "E042", "rule_above_max": "E044"})]

    def worded(self, ret: ReturnUnderCheck, outcome: Outcome) -> list[Problem]:
        low, caps = outcome.kwargs["min_value"], outcome.kwargs["max_values"]
        problems = []
        for row, name in _failed_cells(ret, outcome, lambda values: (values < low) | (values > pd.Series(caps))):
            header, text, where = ret.columns.header(name), ret.text(row, name), ret.describe_cell(row, name)
            if ret.frame.at[row, name] < low:
                problems.append(problem(outcome.meta["rule_below_min"],
                                        f"'{header}' is {text}{ret.unit_phrase(row)}, below zero", **where))
            else:
                spec = ret.field(name)
                problems.append(problem(outcome.meta["rule_above_max"],
                                        f"'{header}' is {text}{ret.unit_phrase(row)}, above the cap of "
                                        f"{spec.max:,.0f} {spec.unit} for one station in a month", **where))
        return problems


def _failed_cells(ret: ReturnUnderCheck, outcome: Outcome,
                  broken: Callable[[pd.DataFrame], pd.DataFrame]) -> list[tuple[int, str]]:
    """(row, column) of each cell that broke a many-column expectation, found among the rows GX failed."""
    columns = list(outcome.kwargs["column_list"])
    values = ret.frame.loc[list(outcome.failed_rows), columns]
    rows, positions = np.nonzero(broken(values)[columns].to_numpy())
    return [(values.index[r], columns[p]) for r, p in zip(rows.tolist(), positions.tolist())]


class MatchesTheReturn(Rule):
    """E020 and E021: each row is for the province and the month that the return is for. Those two
    are suite parameters, so the suites do not change from one submission to the next."""
    name = "matches_the_return"

    def expectations(self, scope: SuiteScope) -> list[dict]:
        if not scope.national:
            return []
        return [self._expectation("expect_column_values_to_be_in_set",
                                  {"column": column, "value_set": {"$PARAMETER": parameter}},
                                  {"rule": rule, "field": column})
                for column, parameter, rule in (("province_code", PROVINCE_PARAMETER, "E020"),
                                                ("period", PERIOD_PARAMETER, "E021"))]

    def worded(self, ret: ReturnUnderCheck, outcome: Outcome) -> list[Problem]:
        name = outcome.kwargs["column"]
        return [problem(outcome.meta["rule"], self._mismatch(ret, name, row), **ret.describe_cell(row, name))
                for row in outcome.failed_rows]

    @staticmethod
    def _mismatch(ret: ReturnUnderCheck, name: str, row: int) -> str:
        header, text = ret.columns.header(name), ret.text(row, name)
        if name == "province_code":
            return f"'{header}' is '{text}' but this return is for {ret.amendment.name} ({ret.amendment.province})"
        try:
            parse_period(text)
        except ValueError:
            return f"'{header}' is '{text}', which is not a month written as YYYY-MM"
        return f"'{header}' is '{text}' but this return is for {format_period(ret.month)}"


class OneRowPerUnit(Rule):
    """E034: a unit appears once. Every row after a unit's first is a problem that lists all its rows."""
    name = "one_row_per_unit"

    def expectations(self, scope: SuiteScope) -> list[dict]:
        if not scope.national:
            return []
        return [self._expectation("expect_column_values_to_be_unique", {"column": "unit_code"},
                                  {"rule": "E034", "field": "unit_code"})]

    def worded(self, ret: ReturnUnderCheck, outcome: Outcome) -> list[Problem]:
        by_unit: dict[str, list[int]] = {}
        for row in outcome.failed_rows:
            by_unit.setdefault(ret.unit_at(row), []).append(row)
        problems = []
        for unit, rows in by_unit.items():
            listed = ", ".join(str(r) for r in sorted(rows))
            problems += [problem("E034", f"Unit {unit} has {len(rows)} rows (rows {listed})",
                                 **ret.describe_cell(row, "unit_code")) for row in sorted(rows)[1:]]
        return problems


class CrossFieldComparison(Rule):
    """The rules in cross_field_rules of spec/form.yaml (left <= right): errors X1xx and warnings W2xx,
    one expectation for each severity. A row with either value missing is not checked."""
    name = "cross_field"

    def expectations(self, scope: SuiteScope) -> list[dict]:
        if not scope.national:
            return []
        found = []
        for severity in ("error", "warning"):
            rules = [r for r in scope.form.cross_field_rules if r.over == "month" and r.severity == severity]
            if rules:
                found.append(self._expectation(
                    "expect_column_pairs_left_at_most_right",
                    {"column_list": list(dict.fromkeys(name for r in rules for name in (r.left, r.right))),
                     "pairs": [[r.left, r.right] for r in rules]},
                    {"comparisons": [{"rule": r.code, "left": r.left, "right": r.right} for r in rules]}, severity))
        return found

    def worded(self, ret: ReturnUnderCheck, outcome: Outcome) -> list[Problem]:
        checked = {tuple(pair) for pair in outcome.kwargs["pairs"]}
        rows = list(outcome.failed_rows)
        problems = []
        for comparison in outcome.meta["comparisons"]:
            left, right = comparison["left"], comparison["right"]
            if (left, right) not in checked:
                continue
            problems += [problem(comparison["rule"],
                                 f"'{ret.columns.header(left)}' ({ret.text(row, left)}) is more than "
                                 f"'{ret.columns.header(right)}' ({ret.text(row, right)}){ret.unit_phrase(row)}",
                                 **ret.describe_cell(row, left))
                         for row in rows if ret.frame.at[row, left] > ret.frame.at[row, right]]
        return problems


class NarrativeText(Rule):
    """The free-text fields (loaders/narratives.py): E046 for a text over its length limit, E047 for a
    control character, and W310 for a text that looks like it holds personal data."""
    name = "narrative_text"

    def found(self, ret: ReturnUnderCheck) -> list[Problem]:
        return narrative_problems(ret.frame, ret.form.narratives, ret.describe_cell)


class GivenTogether(Rule):
    """Cross-field rules marked `paired` (for example X105, on the survey's figures): the two figures
    are both given or both empty."""
    name = "given_together"

    def found(self, ret: ReturnUnderCheck) -> list[Problem]:
        problems = []
        for rule in ret.form.cross_field_rules:
            if rule.paired and rule.left in ret.frame and rule.right in ret.frame:
                problems += self._one_given(ret, rule.code, rule.left, rule.right)
        return problems

    @staticmethod
    def _one_given(ret: ReturnUnderCheck, code: str, left: str, right: str) -> list[Problem]:
        given_left, given_right = ret.frame[left].notna(), ret.frame[right].notna()
        problems = []
        for row in ret.frame.index[given_left != given_right]:
            given, empty = (left, right) if given_left.at[row] else (right, left)
            if (row, empty) not in ret.unparsable:
                problems.append(problem(code, f"'{ret.columns.header(given)}' is given but "
                                              f"'{ret.columns.header(empty)}' is empty{ret.unit_phrase(row)}",
                                        **ret.describe_cell(row, empty)))
        return problems


class KnownUnit(Rule):
    """The federal unit registry. E030 is a unit the registry does not know. E031 is a unit of another
    province. E033 is a unit that was not open in the month. E032 is a row whose district is not the
    unit's district."""
    name = "known_unit"

    def found(self, ret: ReturnUnderCheck) -> list[Problem]:
        if ret.units is None:
            return []
        districts = ret.frame["district_code"] if "district_code" in ret.frame else None
        problems = []
        for row, unit in ret.units.items():
            if unit is not None:
                found = self._unit_problem(ret, row, unit, None if districts is None else districts.at[row])
                problems += [found] if found else []
        return problems

    def _unit_problem(self, ret: ReturnUnderCheck, row: int, unit: str, district: str | None) -> Problem | None:
        version = ret.registry.unit_in(unit, ret.month)
        where = ret.describe_cell(row, "unit_code")
        if version is None:
            return problem("E030", f"Unit code '{ret.text(row, 'unit_code')}' is not in the federal unit registry"
                                   f"{self._close_unit(ret, unit)}", **where)
        if version.province_code != ret.amendment.province:
            other = ret.registry.province(version.province_code).province_name
            return problem("E031", f"Unit {unit} ({version.unit_name}) belongs to {other}, not to "
                                   f"{ret.amendment.name}", **where)
        if not version.is_open_in(ret.month):
            when = (f"closed on {version.closed_on.isoformat()}" if version.closed_on and version.closed_on < ret.month
                    else f"opened on {version.opened_on.isoformat()}")
            return problem("E033", f"Unit {unit} ({version.unit_name}) {when}, so it cannot report for "
                                   f"{format_period(ret.month)}", **where)
        if district is not None and district != version.district_code:
            return problem("E032", f"Unit {unit} is in district {version.district_code} in "
                                   f"{format_period(ret.month)}, not '{ret.text(row, 'district_code')}'",
                           **ret.describe_cell(row, "district_code"))
        return None

    @staticmethod
    def _close_unit(ret: ReturnUnderCheck, unit: str) -> str:
        codes = [u.unit_code for u in ret.registry.units_open(ret.amendment.province, ret.month)]
        close = difflib.get_close_matches(unit, codes, n=1, cutoff=0.8)
        return f"; did you mean {close[0]}?" if close else ""


class EveryUnitReported(Rule):
    """W304: a unit that the registry expects this month has no row in the file."""
    name = "every_unit_reported"

    def found(self, ret: ReturnUnderCheck) -> list[Problem]:
        if ret.units is None:
            return []
        present = set(ret.units.dropna())
        return [problem("W304", f"Unit {unit.unit_code} ({unit.unit_name}, district {unit.district_code}) "
                                f"has no row in the file", column=ret.columns.header("unit_code"),
                        value=unit.unit_code, field="unit_code", unit_code=unit.unit_code)
                for unit in ret.registry.units_open(ret.amendment.province, ret.month)
                if unit.unit_code not in present]


class FiscalYearToDate(Rule):
    """Cross-field rules `over: fiscal_year` (W206, COP funds: money received in one month is often spent
    in a later one): left <= right on the sums from July to this month, the unit's accepted returns of the
    earlier months and this file's row together. A row giving neither figure is not checked."""
    name = "fiscal_year_to_date"

    def found(self, ret: ReturnUnderCheck) -> list[Problem]:
        rules = [r for r in ret.form.fiscal_year_rules if r.left in ret.frame and r.right in ret.frame]
        if not rules or ret.units is None:
            return []
        earlier, since = ret.history().year_to_date, format_period(fiscal_year_start(ret.month))
        problems = []
        for rule in rules:
            given = ret.frame[rule.left].notna() | ret.frame[rule.right].notna()
            for row in ret.frame.index[given & ret.units.notna()]:
                sums = {name: earlier.get(ret.units.at[row], {}).get(name, 0.0)
                        + (0.0 if pd.isna(ret.frame.at[row, name]) else float(ret.frame.at[row, name]))
                        for name in (rule.left, rule.right)}
                if sums[rule.left] > sums[rule.right]:
                    problems.append(problem(
                        rule.code, f"From {since} to {format_period(ret.month)}, '{ret.columns.header(rule.left)}' "
                                   f"adds up to {sums[rule.left]:,.0f}, more than '{ret.columns.header(rule.right)}' "
                                   f"({sums[rule.right]:,.0f}){ret.unit_phrase(row)}",
                        **ret.describe_cell(row, rule.left)))
        return problems


class UsualForTheUnit(Rule):
    """Warnings from the unit's own history (history_rules in spec/form.yaml, loaders/history.py):
    W301 is an unusual value, W302 is a row copied from last month, W303 is a row of zeros. This rule
    runs last, because it waits for the history."""
    name = "usual_for_the_unit"

    def found(self, ret: ReturnUnderCheck) -> list[Problem]:
        known = ret.history()
        peers = {u.unit_code: Peer(u.population, u.urban_rural, u.district_code)
                 for u in ret.registry.units_open(ret.amendment.province, ret.month)}
        value_fields = [name for name in ret.frame.columns
                        if name not in IDENTITY_FIELDS and name not in ret.form.narrative_names]
        counts = {name for name in value_fields if ret.field(name).type == "count"}
        return history_warnings(ret.frame, value_fields, known, ret.form.history_rules, ret.describe_cell, peers,
                                counts)


RULES: tuple[Rule, ...] = (NotEmpty(), WithinRange(), MatchesTheReturn(), OneRowPerUnit(), CrossFieldComparison(),
                           NarrativeText(), GivenTogether(), KnownUnit(), EveryUnitReported(), FiscalYearToDate(),
                           UsualForTheUnit())
_BY_NAME = {rule.name: rule for rule in RULES}


def worded_outcomes(ret: ReturnUnderCheck, outcomes: list[Outcome]) -> list[Problem]:
    """Each failed expectation, worded by the rule that contributed it."""
    return [found for outcome in outcomes if not outcome.success
            for found in _BY_NAME[outcome.meta["check"]].worded(ret, outcome)]


def found_by_rules(ret: ReturnUnderCheck) -> list[Problem]:
    """The checks GX cannot express, in order (the history last)."""
    return [found for rule in RULES for found in rule.found(ret)]


# ---------------------------------------------------------------- the suites (generated by `cop spec generate`)


def national_suite(form: Form) -> dict:
    scope = SuiteScope(form, tuple(form.fields), national=True)
    return suite(NATIONAL_SUITE, form, _expectations(scope), "The national monthly COP return, every province.")


def local_suite(amendment: Amendment, form: Form) -> dict | None:
    if not amendment.local_indicators:
        return None
    scope = SuiteScope(form, tuple(amendment.local_indicators), national=False)
    return suite(local_suite_name(amendment.province), form, _expectations(scope),
                 f"{amendment.name}'s local indicators (spec/amendments/{amendment.province}.yaml).")


def _expectations(scope: SuiteScope) -> list[dict]:
    return [e for rule in RULES for e in rule.expectations(scope)]


def generated_suites() -> dict[str, dict]:
    """File name -> suite JSON, as the spec says today."""
    form = load_form()
    suites = {NATIONAL_SUITE: national_suite(form)}
    for province in load_registry().province_codes:
        local = local_suite(load_amendment(province), form)
        if local:
            suites[local["name"]] = local
    return {f"{name}.json": suite for name, suite in suites.items()}


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
