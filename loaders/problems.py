"""Problems found in a submission, in one shape for every rule, and the problem files.

A problem names the row as the province sees it in its file (header = row 1),
the column as the province named it, the value as written, the rule code from
spec/form.yaml and a plain-language message that ends with how to fix it.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Iterable

from cop.spec import load_form

PROBLEM_COLUMNS = ("severity", "rule", "title", "row", "column", "value", "unit_code", "field", "message")
# Spreadsheet programs run a cell that starts with one of these as a formula (CSV/formula injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Problem:
    severity: str
    rule: str
    title: str
    message: str
    row: int | None = None
    column: str | None = None
    value: str | None = None
    field: str | None = None
    unit_code: str | None = None

    def to_dict(self) -> dict:
        # Not dataclasses.asdict: it deep-copies every value, which costs seconds on 20,000 problems.
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


def problem(rule: str, detail: str, *, row: int | None = None, column: str | None = None,
            value: object = None, field: str | None = None, unit_code: str | None = None) -> Problem:
    """A problem for `rule` (a code of spec/form.yaml): `detail` says what is wrong, the spec says how to fix it."""
    entry = load_form().rules[rule]
    detail = detail.rstrip()
    if not detail.endswith("."):
        detail += "."
    return Problem(severity=entry.severity, rule=rule, title=entry.title, message=f"{detail} {entry.fix}",
                   row=row, column=column, value=None if value is None else str(value), field=field,
                   unit_code=unit_code)


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Errors first, then by row as in the file, file-level problems (no row) before row problems."""
    return sorted(problems, key=lambda p: (not p.is_error, p.row if p.row is not None else -1, p.rule,
                                           p.column or "", p.unit_code or ""))


def spreadsheet_safe(text: object) -> str:
    """The cell text, with a leading quote where a spreadsheet would otherwise run it as a formula."""
    text = "" if text is None else str(text)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _problem_rows(problems: Iterable[Problem]) -> list[list[str]]:
    return [[spreadsheet_safe(getattr(p, name)) for name in PROBLEM_COLUMNS] for p in problems]


def write_problem_csv(problems: list[Problem], path: Path) -> Path:
    # utf-8-sig so that Excel shows Urdu headers and values correctly when the province opens it.
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(PROBLEM_COLUMNS)
        writer.writerows(_problem_rows(problems))
    return path


def write_problem_xlsx(problems: list[Problem], path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Problems")
    sheet.freeze_panes = "A2"
    header = [WriteOnlyCell(sheet, value=name) for name in PROBLEM_COLUMNS]
    for cell in header:
        cell.font = Font(bold=True)
    sheet.append(header)
    for row in _problem_rows(problems):
        # Plain strings only, so that nothing the province wrote becomes a formula or a date.
        sheet.append(row)
    workbook.save(path)
    return path
