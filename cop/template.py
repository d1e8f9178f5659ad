"""The monthly return template a province downloads: the national form with the
province's amendment applied (its headers, its omissions, its local indicators).

The XLSX template is meant to be filled in by hand: headers carry their help
text as comments, count cells only accept whole numbers within the field's cap,
and a second sheet explains every column."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from cop.fileformats import csv_bytes, write_bytes, xlsx_bytes
from cop.period import format_period
from cop.registry import load_registry
from cop.spec import IDENTITY_FIELDS, Amendment, Column, Field, Form, Narrative, form_for, load_amendment

HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
OPTIONAL_FILL = PatternFill("solid", fgColor="5B7FA6")
INSTRUCTIONS_SHEET = "Instructions"


def _field(form: Form, amendment: Amendment, name: str) -> Field | Narrative | None:
    if name in IDENTITY_FIELDS:
        return None
    if name in form.narrative_names:
        return form.narrative(name)
    return amendment.local_field(name) if name not in form.field_names else form.field(name)


def template_form(month: dt.date | None) -> Form:
    """The form a template is for: the version in force for `month`, else for the month now running."""
    return form_for(month or dt.date.today().replace(day=1))


def prefilled_rows(province: str, month: dt.date, columns: list[Column]) -> list[list]:
    """One row per unit open in `month`, identity filled in, figures left empty."""
    rows = []
    for unit in load_registry().units_open(province, month):
        identity = dict(province_code=province, district_code=unit.district_code, unit_code=unit.unit_code,
                        period=format_period(month))
        rows.append([identity.get(column.field) for column in columns])
    return rows


def instructions(form: Form, amendment: Amendment, columns: list[Column]) -> tuple[list[str], list[list]]:
    header = ["Column header", "National field", "Group", "Required", "Type", "Maximum", "What to enter"]
    rows = []
    identity_help = {f.name: f.help for f in form.identity}
    for column in columns:
        field = _field(form, amendment, column.field)
        if field is None:
            rows.append([column.header, column.field, "identity", "yes", "text", "", identity_help[column.field]])
            continue
        if isinstance(field, Narrative):
            rows.append([column.header, field.name, "narrative", "optional (leave empty if nothing to tell)",
                         f"text, at most {field.max_length:,} characters", "", field.help])
            continue
        kind = "whole number" if field.type == "count" else "number (decimals allowed)"
        group = f"local ({amendment.province})" if field.is_local else field.group
        rows.append([column.header, field.name, group, "yes" if field.required else "optional (leave empty if unknown)",
                     kind, field.max, field.help])
    return header, rows


def _decorate_return_sheet(form: Form, amendment: Amendment, columns: list[Column], sheet: Worksheet) -> None:
    help_by_field = {f.name: f.help for f in form.identity}
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=index)
        field = _field(form, amendment, column.field)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = HEADER_FILL if column.required else OPTIONAL_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.comment = Comment(field.help if field else help_by_field[column.field], "COP federal focal agency")
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(14, min(32, len(column.header) + 4))
        if isinstance(field, Narrative):
            rule = DataValidation(type="textLength", operator="lessThanOrEqual", formula1=str(field.max_length),
                                  allow_blank=True, showErrorMessage=True, errorTitle=field.label,
                                  error=f"At most {field.max_length:,} characters.")
            rule.add(f"{letter}2:{letter}5000")
            sheet.add_data_validation(rule)
        elif field is not None:
            kind = "whole" if field.type == "count" else "decimal"
            rule = DataValidation(type=kind, operator="between", formula1="0", formula2=str(int(field.max)),
                                  allow_blank=True, showErrorMessage=True, errorTitle=field.label,
                                  error=f"Enter a {'whole ' if kind == 'whole' else ''}number from 0 to {int(field.max)}.")
            rule.add(f"{letter}2:{letter}5000")
            sheet.add_data_validation(rule)
    sheet.freeze_panes = "E2"
    sheet.row_dimensions[1].height = 45


def _decorate_instructions(sheet: Worksheet) -> None:
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDEFG", (30, 36, 16, 18, 18, 10, 90)):
        sheet.column_dimensions[letter].width = width


def template_bytes(province: str, fmt: str, month: dt.date | None = None) -> bytes:
    form, amendment = template_form(month), load_amendment(province)
    columns = amendment.columns(form)
    header = [c.header for c in columns]
    rows = prefilled_rows(province, month, columns) if month else []
    if fmt == "csv":
        return csv_bytes(header, rows, delimiter=amendment.file.delimiter, encoding=amendment.file.encoding)

    def decorate(sheet: Worksheet, index: int) -> None:
        if index == 0:
            _decorate_return_sheet(form, amendment, columns, sheet)
        else:
            _decorate_instructions(sheet)

    help_header, help_rows = instructions(form, amendment, columns)
    return xlsx_bytes([(amendment.file.sheet or "Return", header, rows),
                       (INSTRUCTIONS_SHEET, help_header, help_rows)], decorate)


def write_template(province: str, fmt: str, path: Path, month: dt.date | None = None) -> Path:
    return write_bytes(Path(path), template_bytes(province, fmt, month))
