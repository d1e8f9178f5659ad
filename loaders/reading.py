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
import logging
import re
from dataclasses import dataclass

from cop.spec import Amendment, Limits
from loaders.problems import Problem, problem
from loaders.workbook_package import PackageError, check_workbook, column_letters, giant_cell

DELIMITERS = (",", ";", "\t")
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
# An encrypted Office file is a compound document holding this stream name (UTF-16).
ENCRYPTED_OFFICE_STREAM = "EncryptionInfo".encode("utf-16-le")
# Interrupts and exits pass; everything else a reader bug can raise becomes a rejection.
NOT_FILE_PROBLEMS = (KeyboardInterrupt, SystemExit, GeneratorExit)
log = logging.getLogger(__name__)


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
    """The file's table, or ReadError with the problem to show: nothing else, whatever the bytes."""
    try:
        return _read_table(content, amendment, limits)
    except ReadError:
        raise
    except BaseException as exc:  # pyo3's PanicException is a BaseException
        if isinstance(exc, NOT_FILE_PROBLEMS):
            raise
        log.exception("reader failed on a %d-byte file", len(content))
        raise ReadError(problem("E001", f"The file cannot be read: the reader failed on it "
                                        f"({type(exc).__name__})")) from exc


def _read_table(content: bytes, amendment: Amendment, limits: Limits) -> Table:
    _check_size(content, limits)
    if content.startswith(ZIP_SIGNATURE):
        return _read_xlsx(content, amendment, limits)
    if content.startswith(b"\xd0\xcf\x11\xe0") and ENCRYPTED_OFFICE_STREAM in content:
        raise ReadError(problem("E005", "The file is a password-protected Excel file; remove the password "
                                        "(File > Info > Protect Workbook) and save it as .xlsx"))
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


BYTE_ORDER_MARKS = ((b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\xef\xbb\xbf", "utf-8-sig"),
                    (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
# Bytes below space other than tab, CR and LF: a text file has (almost) none.
CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))
CONTROL_CHARACTERS = CONTROL_BYTES.decode("ascii") + "\x7f"
CONTROL_CHARACTER = re.compile(f"[{re.escape(CONTROL_CHARACTERS)}]")
MAX_CONTROL_SHARE_OF_TEXT = 0.01


def decode_text(content: bytes, amendment: Amendment) -> tuple[str, str]:
    """(text, encoding name). Tries the byte-order mark, UTF-8, the province's declared encoding, Windows-1252."""
    text, encoding = _decode(content, amendment)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ReadError(problem("E001", f"The file's text contains NUL characters (the first on line {line:,}), "
                                        f"which a CSV saved by a spreadsheet program never does"))
    return text.lstrip("\ufeff"), encoding  # a second byte-order mark, left by a tool that added its own


def _decode(content: bytes, amendment: Amendment) -> tuple[str, str]:
    marked = next((encoding for mark, encoding in BYTE_ORDER_MARKS if content.startswith(mark)), None)
    if marked:
        candidates = [marked]
    elif b"\x00" in content and (utf16 := _utf16_without_bom(content)):
        candidates = [utf16]
    elif b"\x00" in content and not _mostly_text(content):
        raise ReadError(problem("E005", "The file contains binary data, so it is not a CSV text file "
                                        "(a spreadsheet or another file renamed .csv?)"))
    else:
        declared = amendment.file.encoding.lower().replace("_", "-")
        candidates = ["utf-8"] + ([declared] if not declared.startswith("utf") else []) + ["cp1252"]
    for encoding in candidates:
        try:
            return content.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError):
            continue
    raise ReadError(problem("E001", "The file's text is not in UTF-8, UTF-16 or Windows-1252, so its "
                                    "characters cannot be read reliably"))


def _utf16_without_bom(content: bytes) -> str | None:
    """UTF-16 text without a byte-order mark has a NUL in every other byte of ASCII text."""
    even, odd = content[0::2], content[1::2]
    if odd.count(0) > len(odd) * 0.3:
        return "utf-16-le"
    if even.count(0) > len(even) * 0.3:
        return "utf-16-be"
    return None


def _mostly_text(content: bytes) -> bool:
    controls = len(content) - len(content.translate(None, CONTROL_BYTES))
    return controls <= len(content) * MAX_CONTROL_SHARE_OF_TEXT


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
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        records = _non_blank_records((map(_clean_text, record) for record in reader), limits)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise ReadError(problem("E007", f"Line {reader.line_num:,} has a cell of more than "
                                            f"{csv.field_size_limit():,} characters; a cell of the return holds "
                                            f"at most {limits.max_cell_characters:,}", row=reader.line_num)) from exc
        raise ReadError(problem("E001", f"The CSV structure is broken on line {reader.line_num:,} ({exc})")) from exc
    return _table(records, limits, "csv", encoding=encoding, delimiter=delimiter)


def _clean_text(cell: str) -> str | None:
    cell = cell.strip()
    if CONTROL_CHARACTER.search(cell):
        cell = _visible_controls(cell)
    return cell or None


def _visible_controls(cell: str) -> str:
    """Control characters (a DOS end-of-file mark, a pasted escape code) are never part of a value:
    dropped at the ends of a cell, shown as \ufffd inside it, so the value is reported as wrong and
    every program the problem files go to can show it."""
    return CONTROL_CHARACTER.sub("\ufffd", cell.strip(CONTROL_CHARACTERS + " ")) or ""


# ---------------------------------------------------------------- XLSX


def _read_xlsx(content: bytes, amendment: Amendment, limits: Limits) -> Table:
    # calamine (Rust) reads a 700-row sheet in ~20 ms where openpyxl takes ~600 ms. Its XML parser
    # expands no entities and loads no DTDs; check_workbook refuses bombs and tricks first anyway.
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        check_workbook(content, limits)
    except PackageError as exc:
        raise ReadError(exc.problem) from exc
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
        sheet_name = _choose_sheet(workbook.sheet_names, amendment)
        # skip_empty_area=False: rows start at A1, so list index + 1 is the row number Excel shows.
        sheet_rows = workbook.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
    except ReadError:
        raise
    except (CalamineError, ValueError, OSError, OverflowError, TypeError) as exc:
        reason = " ".join(str(exc).split())[:150].rstrip(".") or type(exc).__name__
        raise ReadError(problem("E001", f"The Excel file is damaged or not a workbook ({reason})")) from exc
    records = _non_blank_records((map(_cell_text, values) for values in sheet_rows), limits)
    return _table(records, limits, "xlsx", sheet=sheet_name)


def _non_blank_records(rows, limits: Limits) -> list[tuple[int, list[str | None]]]:
    """(line number, cells) of every row with a value, checked against the cell and row limits as read."""
    records: list[tuple[int, list[str | None]]] = []
    for number, row in enumerate(rows, start=1):
        cells = list(row)
        if any(cell is not None for cell in cells):
            _check_cell_lengths(number, cells, records, limits)
            records.append((number, cells))
            _check_row_count(len(records) - 1, limits)
    return records


def _choose_sheet(sheet_names: list[str], amendment: Amendment) -> str:
    if not sheet_names:
        raise ReadError(problem("E002", "The workbook has no sheets"))
    wanted = amendment.file.sheet
    if wanted is None or wanted in sheet_names:
        return wanted or sheet_names[0]
    if len(sheet_names) == 1:  # one sheet, renamed: no doubt which one is meant
        return sheet_names[0]
    raise ReadError(problem("E001", f"The workbook has no sheet named '{wanted}' (it has: "
                                    f"{', '.join(sheet_names)}); put the return on a sheet named "
                                    f"'{wanted}'", value=", ".join(sheet_names)))


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


def _check_cell_lengths(number: int, cells: list[str | None], records: list, limits: Limits) -> None:
    longest = max(map(len, filter(None, cells)), default=0)
    if longest <= limits.max_cell_characters:
        return
    index = next(i for i, cell in enumerate(cells) if cell and len(cell) == longest)
    headers = records[0][1] if records else []
    column = (headers[index] if index < len(headers) else None) or column_letters(index + 1)
    raise ReadError(giant_cell(f"in row {number:,}, column '{column}',", longest, limits,
                               row=number, column=column).problem)


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
