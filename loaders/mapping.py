"""The province's headers -> the fields of the national form (and its local indicators).

Headers match after trimming and case-folding, through the province's aliases
(Amendment.header_lookup). Unknown, doubled and missing columns become problems
that name the column exactly as the province wrote it.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, replace

from cop.spec import IDENTITY_FIELDS, Amendment, Form, load_form, normalize_header
from loaders.problems import Problem, problem
from loaders.reading import Table

LEGACY_ENCODINGS_HINT = (" The file was read as Windows-1252: if its headers are in Urdu, save it as "
                         "\"CSV UTF-8\" and send it again.")


@dataclass(frozen=True)
class MappedColumn:
    index: int
    header: str
    field: str


@dataclass(frozen=True)
class ColumnMap:
    """Field name -> the column of the province's file that holds it."""
    columns: dict[str, MappedColumn]
    amendment: Amendment

    def header(self, field: str) -> str:
        """The column as the province named it (the template's header when the file lacks it)."""
        column = self.columns.get(field)
        return column.header if column else self.amendment.header_for(field)

    def __contains__(self, field: str) -> bool:
        return field in self.columns


def required_fields(amendment: Amendment, form: Form) -> list[str]:
    return ([*IDENTITY_FIELDS] + [f.name for f in (*form.fields, *form.narratives) if f.required]
            + [f.name for f in amendment.local_indicators if f.required])


def map_headers(table: Table, amendment: Amendment, form: Form) -> tuple[ColumnMap, list[Problem]]:
    lookup = amendment.header_lookup(form)
    columns: dict[str, MappedColumn] = {}
    problems: list[Problem] = []
    for index, header in enumerate(table.headers):
        field = lookup.get(normalize_header(header))
        if field is None:
            problems.append(_unknown_column(table, index, header, amendment, form))
        elif field in columns:
            problems.append(problem(
                "E012", f"Column '{header}' holds the same field ({field}) as column '{columns[field].header}'",
                row=table.header_row, column=header, value=header, field=field))
        else:
            columns[field] = MappedColumn(index, header, field)
    mapped = ColumnMap(columns, amendment)
    for field in required_fields(amendment, form):
        if field not in columns:
            problems.append(problem("E010", f"The required column '{mapped.header(field)}' ({field}) is missing"
                                            f"{_version_note(form, field)}",
                                    row=table.header_row, column=mapped.header(field), field=field))
    return mapped, problems


def _unknown_column(table: Table, index: int, header: str, amendment: Amendment, form: Form) -> Problem:
    if not header:
        return problem("E011", f"Column {_column_letter(index)} has values but no header",
                       row=table.header_row, column=f"(column {_column_letter(index)})")
    other_version = amendment.header_lookup(load_form()).get(normalize_header(header))
    if other_version:
        return problem("E011", f"Column '{header}' ({other_version}) is not collected in form v{form.version}, "
                               f"which this month is judged by{_version_note(load_form(), other_version)}",
                       row=table.header_row, column=header, value=header, field=other_version)
    detail = f"Column '{header}' is not a field of the national form or of {amendment.name}'s amendment"
    known = [column.header for column in amendment.columns(form)]
    close = difflib.get_close_matches(header, known, n=1, cutoff=0.75)
    if close:
        detail += f"; did you mean '{close[0]}'?"
    found = problem("E011", detail, row=table.header_row, column=header, value=header)
    if table.encoding == "cp1252" and not header.isascii():
        found = _with_hint(found, LEGACY_ENCODINGS_HINT)
    return found


def _version_note(form: Form, field: str) -> str:
    """For a field that a later version of the form introduced: since when it is collected."""
    since = form.field_version(field)
    return f" (collected from {since.start:%Y-%m}, form v{since.version})" if since and since.version > 1 else ""


def _with_hint(found: Problem, hint: str) -> Problem:
    return replace(found, message=found.message + hint)


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters
