"""The committed GX suites are what the spec generates, GX reads them, and every rule code is in the catalogue."""
from __future__ import annotations

import pytest

import json

from cop.spec import load_form
from expectations.suites import SUITES_DIR, generated_suites, suite_text

pytestmark = pytest.mark.xdist_group("intake_suites")  # one module, one worker: one database


def test_committed_suites_equal_what_the_spec_generates():
    wanted = generated_suites()
    committed = {path.name: path.read_text(encoding="utf-8") for path in SUITES_DIR.glob("*.json")}
    assert sorted(committed) == sorted(wanted), "run `python -m expectations` and commit expectations/suites/"
    for name, suite in wanted.items():
        assert committed[name] == suite_text(suite), f"{name} is stale: run `python -m expectations`"


def test_gx_reads_every_suite_and_every_rule_code_is_in_the_catalogue():
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    catalogue = load_form().rules
    for path in SUITES_DIR.glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        suite = gx.ExpectationSuite(name=data["name"], expectations=[
            ExpectationConfiguration(**e).to_domain_obj() for e in data["expectations"]])
        assert len(suite.expectations) == len(data["expectations"])
        for expectation in data["expectations"]:
            codes = [v for k, v in expectation["meta"].items() if k.startswith("rule")]
            assert codes and all(code in catalogue for code in codes)
            severity = {"critical": "error", "warning": "warning"}[expectation["severity"]]
            assert all(catalogue[code].severity == severity for code in codes)
