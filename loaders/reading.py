"""Bytes -> a header and rows of text cells, whatever the province's file looks like.

CSV in UTF-8 (with or without BOM), UTF-16 or Windows-1252, with comma,
semicolon or tab delimiters; XLSX from the first sheet or the sheet the
province's amendment names. Anything else, or anything over the limits, is
refused with a problem (never an exception the province cannot read). The
uploaded file name is never used here: only the bytes.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass

from defusedxml import DefusedXmlException

from cop.spec import Amendment, Limits
from loaders.problems import Problem, problem

DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
# Signatures of files people send instead of a CSV or an XLSX.
BINARY_SIGNATURES = {
    b"\xd0\xcf\x11\xe0": "an old Excel .xls (or another Office 97-2003) file",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x1f\x8b": "a gzip archive",
    b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"\x7fELF": "a program",
    b"MZ": "a Windows program",
}
ZIP_SIGNATURE = b"PK\x03\x04"
# Below this size a highly compressible member (a sheet of empty styled cells) is no threat.
ZIP_RATIO_CHECK_MIN_BYTES = 1_000_000
MAX_ZIP_MEMBERS = 1000
# Physical sheet rows read at most, blank ones included, per allowed data row.
BLANK_ROW_ALLOWANCE = 10


class ReadError(Exception):
    """The file cannot be turned into a table; `problem` says why and how to fix it."""

    def __init__(self, found: Problem):
        super().__init__(found.message)
        self.problem = found


@dataclass
class Table:
    """A province's return as text: headers as written, rows of cells (None = empty), file row numbers."""
    headers: list[str]
    rows: list[list[str | None]]
    row_numbers: list[int]
    file_format: str
    header_row: int = 1
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None


def read_table(content: bytes, amendment: Amendment, limits: Limits) -> Table:
    _check_size(content, limits)
    if content.startswith(ZIP_SIGNATURE):
        return _read_xlsx(content, amendment, limits)
    for signature, kind in BINARY_SIGNATURES.items():
        if content.startswith(signature):
            raise ReadError(problem("E005", f"The file is {kind}, not a CSV or an Excel .xlsx file"))
    return _read_csv(content, amendment, limits)


def _check_size(content: bytes, limits: Limits) -> None:
    if len(content) > limits.max_file_bytes:
        raise ReadError(problem(
            "E003", f"The file is {len(content) / 1e6:.1f} MB; the largest file accepted is "
                    f"{limits.max_file_bytes / 1e6:.1f} MB", value=len(content)))
    if not content.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise ReadError(problem("E002", "The file is empty"))


# ---------------------------------------------------------------- CSV


def decode_text(content: bytes, amendment: Amendment) -> tuple[str, str]:
    """(text, encoding name). Tries the byte-order mark, UTF-8, the province's declared encoding, Windows-1252."""
    if content.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif content.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    elif b"\x00" in content:
        candidates = [_utf16_without_bom(content)]
    else:
        declared = amendment.file.encoding.lower().replace("_", "-")
        candidates = ["utf-8"] + ([declared] if not declared.startswith("utf") else []) + ["cp1252"]
    for encoding in candidates:
        try:
            text = content.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if "\x00" in text:
            break
        return text, encoding
    if b"\x00" in content:
        raise ReadError(problem("E005", "The file contains binary data, so it is not a CSV text file "
                                        "(a spreadsheet or another file renamed .csv?)"))
    raise ReadError(problem("E001", "The file's text is not in UTF-8, UTF-16 or Windows-1252, so its "
                                    "characters cannot be read reliably"))


def _utf16_without_bom(content: bytes) -> str:
    """UTF-16 text without a byte-order mark has a NUL in every other byte of ASCII text."""
    even, odd = content[0::2], content[1::2]
    if odd.count(0) > len(odd) * 0.3:
        return "utf-16-le"
    if even.count(0) > len(even) * 0.3:
        return "utf-16-be"
    return "binary"


def sniff_delimiter(first_line: str, preferred: str) -> str:
    """The candidate delimiter that splits the header line most (quoted text ignored); ties go to `preferred`."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in first_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts.values())
    if best == 0 or counts.get(preferred, 0) == best:
        return preferred if preferred in DELIMITERS else ","
    return next(d for d in DELIMITERS if counts[d] == best)


def _read_csv(content: bytes, amendment: Amendment, limits: Limits) -> Table:
    text, encoding = decode_text(content, amendment)
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = sniff_delimiter(first_line, amendment.file.delimiter)
    records: list[tuple[int, list[str | None]]] = []
    try:
        for number, record in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            cells = [_clean_text(cell) for cell in record]
            if any(cell is not None for cell in cells):
                records.append((number, cells))
                _check_row_count(len(records) - 1, limits)
    except csv.Error as exc:
        raise ReadError(problem("E001", f"The CSV structure is broken ({exc})")) from exc
    return _table(records, limits, "csv", encoding=encoding, delimiter=delimiter)


def _clean_text(cell: str) -> str | None:
    cell = cell.strip()
    return cell or None


# ---------------------------------------------------------------- XLSX


def _read_xlsx(content: bytes, amendment: Amendment, limits: Limits) -> Table:
    import openpyxl
    from openpyxl import xml as openpyxl_xml

    if not openpyxl_xml.DEFUSEDXML:  # OPENPYXL_DEFUSEDXML=False would turn the XML guard off
        raise RuntimeError("openpyxl must parse with defusedxml; unset OPENPYXL_DEFUSEDXML")
    _check_zip(content, limits)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged workbooks
        raise ReadError(_unsafe_xml(exc) or problem(
            "E001", f"The Excel file is damaged or not a workbook ({type(exc).__name__})")) from exc
    try:
        sheet = _choose_sheet(workbook, amendment)
        sheet.reset_dimensions()  # never trust the declared size of the sheet
        records: list[tuple[int, list[str | None]]] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number > (limits.max_rows + 1) * BLANK_ROW_ALLOWANCE:
                _check_row_count(limits.max_rows + 1, limits)
            cells = [_cell_text(value) for value in values]
            if any(cell is not None for cell in cells):
                records.append((number, cells))
                _check_row_count(len(records) - 1, limits)
    except ReadError:
        raise
    except Exception as exc:
        raise ReadError(_unsafe_xml(exc) or problem(
            "E001", f"The Excel sheet cannot be read ({type(exc).__name__})")) from exc
    finally:
        workbook.close()
    return _table(records, limits, "xlsx", sheet=sheet.title)


def _unsafe_xml(exc: BaseException | None) -> Problem | None:
    """E006 when defusedxml refused a part (openpyxl wraps the refusal in its own exceptions)."""
    while exc is not None:
        if isinstance(exc, DefusedXmlException):
            return problem("E006", f"The workbook contains XML constructs that are never in a genuine Excel "
                                   f"file ({type(exc).__name__})")
        exc = exc.__cause__ or exc.__context__
    return None


def _check_zip(content: bytes, limits: Limits) -> None:
    """Refuse zip bombs before anything is decompressed: total size, per-member ratio, member count."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ReadError(problem("E001", "The file looks like an Excel file but is damaged")) from exc
    names = {member.filename for member in members}
    if "xl/workbook.xml" not in names:
        kind = "an OpenDocument spreadsheet" if "content.xml" in names else "a ZIP archive"
        raise ReadError(problem("E005", f"The file is {kind}, not an Excel .xlsx workbook"))
    total = sum(member.file_size for member in members)
    worst = max(members, key=lambda m: m.file_size / max(m.compress_size, 1))
    ratio = worst.file_size / max(worst.compress_size, 1)
    if len(members) > MAX_ZIP_MEMBERS or total > limits.max_xlsx_uncompressed_bytes or (
            worst.file_size > ZIP_RATIO_CHECK_MIN_BYTES and ratio > limits.max_xlsx_compression_ratio):
        raise ReadError(problem(
            "E006", f"The workbook would expand to {total / 1e6:,.0f} MB ({len(members)} parts, "
                    f"up to {ratio:,.0f} times compressed); the limit is "
                    f"{limits.max_xlsx_uncompressed_bytes / 1e6:,.0f} MB"))


def _choose_sheet(workbook, amendment: Amendment):
    wanted = amendment.file.sheet
    if wanted is None or wanted in workbook.sheetnames:
        return workbook[wanted] if wanted else workbook.worksheets[0]
    if len(workbook.sheetnames) == 1:  # one sheet, renamed: no doubt which one is meant
        return workbook.worksheets[0]
    raise ReadError(problem("E001", f"The workbook has no sheet named '{wanted}' (it has: "
                                    f"{', '.join(workbook.sheetnames)}); put the return on a sheet named "
                                    f"'{wanted}'", value=", ".join(workbook.sheetnames)))


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime | dt.date):
        # Excel turns a typed "2025-03" into 1 March 2025: give the month back as written.
        if value.day == 1 and (not isinstance(value, dt.datetime) or value.time() == dt.time()):
            return f"{value.year:04d}-{value.month:02d}"
        return value.isoformat()
    return _clean_text(str(value))


# ---------------------------------------------------------------- both


def _check_row_count(data_rows: int, limits: Limits) -> None:
    if data_rows > limits.max_rows:
        raise ReadError(problem("E004", f"The file has more than {limits.max_rows:,} data rows",
                                value=data_rows))


def _table(records: list[tuple[int, list[str | None]]], limits: Limits, file_format: str, **details) -> Table:
    if not records:
        raise ReadError(problem("E002", "The file is empty"))
    (header_row, headers), data = records[0], records[1:]
    width = max(len(cells) for _, cells in records)
    headers = [header or "" for header in headers] + [""] * (width - len(headers))
    rows = [cells + [None] * (width - len(cells)) for _, cells in data]
    keep = [i for i in range(width) if headers[i] or any(row[i] is not None for row in rows)]
    if len(keep) > limits.max_columns:
        raise ReadError(problem("E004", f"The file has {len(keep)} columns; at most {limits.max_columns} are accepted",
                                value=len(keep)))
    if not data:
        raise ReadError(problem("E002", "The file has a header row but no data rows"))
    return Table(headers=[headers[i] for i in keep], rows=[[row[i] for i in keep] for row in rows],
                 row_numbers=[number for number, _ in data], file_format=file_format, header_row=header_row,
                 **details)
