"""A valid return for a province and month, built from the registry, in the province's own format.

The fixture of the intake tests and of the verdict measurement: small,
deterministic, consistent with every blocking rule. (The demo's realistic
sample data with trends, late files and mistakes is hub/generate.py.)
"""
from __future__ import annotations

import datetime as dt
import random

from cop.fileformats import return_file_bytes
from cop.period import format_period
from cop.registry import load_registry
from cop.spec import FileFormat, form_for, load_amendment, load_form

Record = dict[str, object]  # header as the province writes it -> cell


def sample_return(province: str, month: dt.date, seed: int = 0, units: int | None = None) -> list[Record]:
    """One record per unit open in `month` (the first `units` of them), keyed by the province's headers, on the
    form version in force for `month` (narratives left empty)."""
    form, amendment = form_for(month), load_amendment(province)
    rng = random.Random(f"{province}:{format_period(month)}:{seed}")
    records = []
    for unit in load_registry().units_open(province, month)[:units]:
        values = _unit_values(random.Random(unit.unit_code), rng, form)
        values.update(province_code=province, district_code=unit.district_code, unit_code=unit.unit_code,
                      period=format_period(month))
        for local in amendment.local_indicators:
            values[local.name] = rng.randint(0, int(min(local.max, 400)))
        records.append({column.header: values.get(column.field) for column in amendment.columns(form)})
    return records


def _unit_values(unit_rng: random.Random, month_rng: random.Random, form) -> dict[str, object]:
    """A level of its own for each unit (the same every month), varied a little from month to month."""
    values: dict[str, object] = {}
    for f in form.fields:
        level = unit_rng.uniform(5, min(f.max, 60))
        values[f.name] = round(min(level * month_rng.uniform(0.95, 1.05), f.max), 1 if f.type == "decimal" else None)
    # Parts never exceed their whole: keep every cross-field rule (errors and warnings) satisfied.
    for rule in form.cross_field_rules:
        share = unit_rng.uniform(0.2, 0.8)
        values[rule.left] = min(values[rule.left], round(values[rule.right] * share))
    return values


def encode_return(records: list[Record], province: str, file_format: str | None = None) -> bytes:
    """The records as the province sends them: its delimiter and encoding for CSV, its sheet for XLSX."""
    amendment = load_amendment(province)
    fmt = amendment.file if file_format in (None, amendment.file.format) else FileFormat(
        format=file_format, sheet=amendment.file.sheet)
    headers = list(records[0]) if records else [c.header for c in amendment.columns(load_form())]
    return return_file_bytes(fmt, headers, [[record.get(h) for h in headers] for record in records])
