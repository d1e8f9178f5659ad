"""GX reads every committed suite, every rule code in them is in the catalogue, and every expectation
belongs to one rule object that words its failures (that the suites are what the spec generates:
tests/test_spec_outputs.py)."""
from __future__ import annotations

import pytest

import json

from cop.spec import load_form
from expectations.runner import gx_suite
from expectations.suites import SUITES_DIR, rule_codes
from loaders.rules import RULES, Rule

pytestmark = pytest.mark.xdist_group("intake_suites")  # one module, one worker: one database


def test_gx_reads_every_suite_and_every_rule_code_is_in_the_catalogue():
    catalogue = load_form().rules
    for path in SUITES_DIR.glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        suite = gx_suite(data["name"], data["expectations"])
        assert len(suite.expectations) == len(data["expectations"])
        for expectation in data["expectations"]:
            codes = rule_codes(expectation["meta"])
            assert codes and all(code in catalogue for code in codes)
            severity = {"critical": "error", "warning": "warning"}[expectation["severity"]]
            assert all(catalogue[code].severity == severity for code in codes)


def test_every_expectation_belongs_to_a_rule_that_words_its_failures():
    names = {rule.name for rule in RULES}
    assert len(names) == len(RULES), "rule names are unique"
    for path in SUITES_DIR.glob("*.json"):
        for expectation in json.loads(path.read_text(encoding="utf-8"))["expectations"]:
            owner = next(rule for rule in RULES if rule.name == expectation["meta"]["check"])
            assert type(owner).worded is not Rule.worded, f"{owner.name} contributes expectations it cannot word"
