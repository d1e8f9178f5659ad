"""The GX expectation suites, generated from the form spec.

One national suite (identity columns, every national field, the cross-field
rules) and one suite per province that has local indicators. Every expectation
carries its rule code from spec/form.yaml in `meta`, so a failure comes back as
a problem with the same code the province reads in the catalogue. The month
and the province are suite parameters: the suites do not change per submission.

This module builds plain JSON (GX 1.x's ExpectationSuite format) so that it
can be imported and compared without loading GX; `expectations.runner` turns
the committed JSON into GX objects.
"""
from __future__ import annotations

import json
from pathlib import Path

from cop.paths import EXPECTATIONS_DIR
from cop.spec import Amendment, Field, Form, load_amendment, load_form, province_codes

SUITES_DIR = EXPECTATIONS_DIR / "suites"
NATIONAL_SUITE = "cop_return_national"
PROVINCE_PARAMETER = "province_values"
PERIOD_PARAMETER = "period_values"
# Identity columns: the rule a missing value breaks.
IDENTITY_MISSING_RULES = {"province_code": "E020", "district_code": "E032", "unit_code": "E035", "period": "E021"}
GX_SEVERITY = {"error": "critical", "warning": "warning"}


def local_suite_name(province: str) -> str:
    return f"cop_return_local_{province}"


def _expectation(kind: str, kwargs: dict, meta: dict, severity: str = "error") -> dict:
    return {"type": kind, "kwargs": kwargs, "meta": meta, "severity": GX_SEVERITY[severity]}


def _field_expectations(field: Field) -> list[dict]:
    expectations = []
    if field.required:
        expectations.append(_expectation("expect_column_values_to_not_be_null", {"column": field.name},
                                         {"rule": "E040", "field": field.name}))
    # One range check per field (cheaper than two); the value's side of the range picks the rule.
    expectations.append(_expectation(
        "expect_column_values_to_be_between", {"column": field.name, "min_value": 0, "max_value": _number(field.max)},
        {"rule_below_min": "E042", "rule_above_max": "E044", "field": field.name}))
    return expectations


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def national_suite(form: Form) -> dict:
    expectations = [
        _expectation("expect_column_values_to_not_be_null", {"column": name}, {"rule": rule, "field": name})
        for name, rule in IDENTITY_MISSING_RULES.items()]
    expectations += [
        _expectation("expect_column_values_to_be_in_set",
                     {"column": "province_code", "value_set": {"$PARAMETER": PROVINCE_PARAMETER}},
                     {"rule": "E020", "field": "province_code"}),
        _expectation("expect_column_values_to_be_in_set",
                     {"column": "period", "value_set": {"$PARAMETER": PERIOD_PARAMETER}},
                     {"rule": "E021", "field": "period"}),
        _expectation("expect_column_values_to_be_unique", {"column": "unit_code"},
                     {"rule": "E034", "field": "unit_code"}),
    ]
    for field in form.fields:
        expectations += _field_expectations(field)
    for rule in form.cross_field_rules:
        # "left <= right" is GX's "A >= B" with A = right; rows missing either value are not checked.
        expectations.append(_expectation(
            "expect_column_pair_values_a_to_be_greater_than_b",
            {"column_A": rule.right, "column_B": rule.left, "or_equal": True,
             "ignore_row_if": "either_value_is_missing"},
            {"rule": rule.code, "left": rule.left, "right": rule.right}, rule.severity))
    return _suite(NATIONAL_SUITE, form, expectations, "The national monthly COP return, every province.")


def local_suite(amendment: Amendment, form: Form) -> dict | None:
    if not amendment.local_indicators:
        return None
    expectations = [e for field in amendment.local_indicators for e in _field_expectations(field)]
    return _suite(local_suite_name(amendment.province), form, expectations,
                  f"{amendment.name}'s local indicators (spec/amendments/{amendment.province}.yaml).")


def _suite(name: str, form: Form, expectations: list[dict], description: str) -> dict:
    return {
        "name": name,
        "expectations": expectations,
        "meta": {"description": description, "form_version": form.version,
                 "generated_by": "python -m expectations (from spec/); do not edit by hand"},
        "notes": None,
    }


def generated_suites() -> dict[str, dict]:
    """File name -> suite JSON, as the spec says today."""
    form = load_form()
    suites = {NATIONAL_SUITE: national_suite(form)}
    for province in province_codes():
        local = local_suite(load_amendment(province), form)
        if local:
            suites[local["name"]] = local
    return {f"{name}.json": suite for name, suite in suites.items()}


def suite_text(suite: dict) -> str:
    return json.dumps(suite, indent=2, ensure_ascii=False) + "\n"


def write_suites(folder: Path = SUITES_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    wanted = generated_suites()
    for stale in folder.glob("*.json"):
        if stale.name not in wanted:
            stale.unlink()
    for file_name, suite in wanted.items():
        path = folder / file_name
        path.write_text(suite_text(suite), encoding="utf-8")
        written.append(path)
    return written


def committed_suite(name: str, folder: Path = SUITES_DIR) -> dict | None:
    path = folder / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
