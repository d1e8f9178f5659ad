"""The GX expectation suites as files: their names, their JSON form, where they are committed.

There is one national suite (identity columns, every national field, the cross-field rules) and one
suite per province that has local indicators. Their content comes from the rules (loaders/rules.py),
and `cop spec generate` writes them. Every expectation carries its rule code from spec/form.yaml in
`meta`, so a failure comes back as a problem with the code that the province reads in the catalogue.
The month and the province are suite parameters, so the suites do not change per submission.

The suites are plain JSON (GX 1.x's ExpectationSuite format), so they can be compared without loading
GX. `expectations.runner` turns the committed JSON into GX objects.
"""
from __future__ import annotations

import json
from pathlib import Path

from cop.paths import EXPECTATIONS_DIR
from cop.spec import Form

SUITES_DIR = EXPECTATIONS_DIR / "suites"
NATIONAL_SUITE = "cop_return_national"
PROVINCE_PARAMETER = "province_values"
PERIOD_PARAMETER = "period_values"
GX_SEVERITY = {"error": "critical", "warning": "warning"}


def local_suite_name(province: str) -> str:
    return f"cop_return_local_{province}"


def expectation(kind: str, kwargs: dict, meta: dict, severity: str = "error") -> dict:
    """One expectation in GX 1.x's JSON form; `meta` carries the rule that words its failures."""
    return {"type": kind, "kwargs": kwargs, "meta": meta, "severity": GX_SEVERITY[severity]}


def rule_codes(meta: dict) -> list[str]:
    """The rule codes an expectation's failures are worded with, whatever its meta's shape: "rule",
    "rule_below_min" and the like; "rule_by_column" (one code per column); "comparisons" (one per pair)."""
    codes = []
    for key, value in meta.items():
        if key == "rule_by_column":
            codes += value.values()
        elif key == "comparisons":
            codes += [comparison["rule"] for comparison in value]
        elif key.startswith("rule"):
            codes.append(value)
    return list(dict.fromkeys(codes))


def suite(name: str, form: Form, expectations: list[dict], description: str) -> dict:
    return {
        "name": name,
        "expectations": expectations,
        "meta": {"description": description, "form_version": form.version,
                 "generated_by": "cop spec generate (from spec/); do not edit by hand"},
        "notes": None,
    }


def suite_text(content: dict) -> str:
    return json.dumps(content, indent=2, ensure_ascii=False) + "\n"


def committed_suite(name: str, folder: Path = SUITES_DIR) -> dict | None:
    path = folder / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
