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
MISSING_UNIT_RULE = "W304"
SUMMARY_COLUMNS = ("severity", "rule", "title", "problems", "listed", "how to fix")
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
    score: float | None = None     # how far out the value is (bigger = worse); orders a rule's examples

    def to_dict(self) -> dict:
        # Not dataclasses.asdict: it deep-copies every value, which costs seconds on 20,000 problems.
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


def problem(rule: str, detail: str, *, row: int | None = None, column: str | None = None,
            value: object = None, field: str | None = None, unit_code: str | None = None,
            score: float | None = None) -> Problem:
    """A problem for `rule` (a code of spec/form.yaml): `detail` says what is wrong, the spec says how to fix it."""
    entry = load_form().rules[rule]
    detail = detail.rstrip()
    if not detail.endswith((".", "?")):
        detail += "."
    return Problem(severity=entry.severity, rule=rule, title=entry.title, message=f"{detail} {entry.fix}",
                   row=None if row is None else int(row), column=column,  # a file's row: never numpy's int64
                   value=None if value is None else str(value), field=field,
                   unit_code=unit_code, score=score)


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Errors first, then by row as in the file, file-level problems (no row) before row problems."""
    return sorted(problems, key=lambda p: (not p.is_error, p.row if p.row is not None else -1, p.rule,
                                           p.column or "", p.unit_code or ""))


@dataclass(frozen=True)
class RuleCount:
    """How often one rule was broken in a submission, and how many of those are kept in detail."""
    rule: str
    severity: str
    title: str
    total: int
    stored: int

    @property
    def cut(self) -> int:
        return self.total - self.stored

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def bound_problems(problems: list[Problem], per_rule: int) -> tuple[list[Problem], list[RuleCount]]:
    """Every rule counted; of each rule only the `per_rule` worst kept (highest score, then first in the
    file), in the order of `problems`. Counts: errors first, then the most frequent rule first."""
    by_rule: dict[str, list[int]] = {}
    for index, p in enumerate(problems):
        by_rule.setdefault(p.rule, []).append(index)
    kept: set[int] = set()
    counts = []
    for rule, indexes in by_rule.items():
        worst = sorted(indexes, key=lambda i: -(problems[i].score or 0))[:per_rule]
        kept.update(worst)
        first = problems[indexes[0]]
        counts.append(RuleCount(rule, first.severity, first.title, len(indexes), len(worst)))
    counts.sort(key=lambda c: (c.severity != "error", -c.total, c.rule))
    return [p for i, p in enumerate(problems) if i in kept], counts


def rule_summary(counts: list[RuleCount], problems: list[Problem], examples: int = 3) -> list[str]:
    """Lines for a person: each rule with its count, then its worst examples (units missing from the
    file: one line listing them)."""
    lines = []
    for count in counts:
        ranked = sorted((p for p in problems if p.rule == count.rule), key=lambda p: -(p.score or 0))
        head = f"  {count.severity} {count.rule} x{count.total}: {count.title}"
        if count.rule == MISSING_UNIT_RULE:
            more = f" and {count.cut} more" if count.cut else ""
            lines.append(f"{head}: {', '.join(p.unit_code or '?' for p in ranked)}{more}")
            continue
        lines.append(head)
        for p in ranked[:examples]:
            where = ", ".join(part for part in (f"row {p.row}" if p.row is not None else "",
                                                f"column '{p.column}'" if p.column else "") if part)
            lines.append(f"      {where + ': ' if where else ''}{_what(p)}")
        if count.total > min(examples, len(ranked)):
            lines.append(f"      ... {count.total - min(examples, len(ranked))} more (the problem file lists "
                         f"{'the worst ' if count.cut else ''}{count.stored})")
    return lines


def _what(p: Problem) -> str:
    """The message without the rule's fix text (said once per rule)."""
    fix = load_form().rules[p.rule].fix if p.rule in load_form().rules else ""
    return p.message[: -len(fix)].strip() if fix and p.message.endswith(fix) else p.message


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


def write_problem_xlsx(problems: list[Problem], path: Path, counts: list[RuleCount] = ()) -> Path:
    """A Summary sheet (each rule, how often, how many listed, how to fix) before the Problems sheet."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)

    def sheet_with_header(title: str, header: tuple[str, ...]):
        sheet = workbook.create_sheet(title)
        sheet.freeze_panes = "A2"
        cells = [WriteOnlyCell(sheet, value=name) for name in header]
        for cell in cells:
            cell.font = Font(bold=True)
        sheet.append(cells)
        return sheet

    if counts:
        summary = sheet_with_header("Summary", SUMMARY_COLUMNS)
        rules = load_form().rules
        for c in counts:
            fix = rules[c.rule].fix if c.rule in rules else ""
            summary.append([c.severity, c.rule, c.title, c.total, c.stored, fix])
    sheet = sheet_with_header("Problems", PROBLEM_COLUMNS)
    for row in _problem_rows(problems):
        # Plain strings only, so that nothing the province wrote becomes a formula or a date.
        sheet.append(row)
    workbook.save(path)
    return path
