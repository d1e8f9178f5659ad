"""Accepted rows -> raw.return_rows, raw.return_values and raw.return_narratives, with COPY, inside the
caller's transaction.

Values are long: one row per unit and indicator present in the file (an empty
cell is NULL = unknown; a column the province left out has no row at all).
Narratives are stored exactly as the cell held them, one row per text given.
"""
from __future__ import annotations

import datetime as dt
import math

import psycopg

from loaders.narratives import personal_data_kind
from loaders.validation import CheckedReturn


def load_rows(conn: psycopg.Connection, submission_id: int, checked: CheckedReturn, province: str,
              month: dt.date) -> int:
    frame = checked.frame
    indicators = checked.value_fields
    identity = frame[["district_code", "unit_code"]].itertuples(index=True, name=None)
    values = frame[indicators].to_numpy(dtype="float64")
    with conn.cursor() as cursor:
        with cursor.copy("copy raw.return_rows (submission_id, source_row, province_code, district_code, "
                         "unit_code, period) from stdin") as copy:
            for row, district, unit in identity:
                copy.write_row((submission_id, int(row), province, district, unit, month))
        with cursor.copy("copy raw.return_values (submission_id, unit_code, indicator_code, value) "
                         "from stdin") as copy:
            copy.write(_values_text(submission_id, frame["unit_code"].tolist(), indicators, values))
        _load_narratives(cursor, submission_id, checked)
    return len(frame)


def _load_narratives(cursor: psycopg.Cursor, submission_id: int, checked: CheckedReturn) -> None:
    if not checked.narrative_fields:
        return
    texts = checked.frame[["unit_code", *checked.narrative_fields]].melt(
        id_vars="unit_code", var_name="narrative_code", value_name="text").dropna(subset=["text"])
    with cursor.copy("copy raw.return_narratives (submission_id, unit_code, narrative_code, text, personal_data) "
                     "from stdin") as copy:
        for unit, code, text in texts.itertuples(index=False, name=None):
            copy.write_row((submission_id, unit, code, text, personal_data_kind(text)))


def _values_text(submission_id: int, units: list[str], indicators: list[str], values) -> str:
    """COPY text format, built in one go: much faster than a write_row per value for ~30,000 values."""
    lines = []
    for unit, row in zip(units, values.tolist()):
        prefix = f"{submission_id}\t{unit}\t"
        for indicator, value in zip(indicators, row):
            lines.append(f"{prefix}{indicator}\t{_copy_number(value)}\n")
    return "".join(lines)


def _copy_number(value: float) -> str:
    if math.isnan(value):
        return "\\N"
    return str(int(value)) if value.is_integer() else repr(value)

