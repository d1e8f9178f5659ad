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
import re
import zipfile
from dataclasses import dataclass

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
    # calamine (Rust) reads a 700-row sheet in ~20 ms where openpyxl takes ~600 ms. Its XML parser
    # expands no entities and loads no DTDs; _check_zip and _check_parts refuse bombs first anyway.
    from python_calamine import CalamineError, CalamineWorkbook

    _check_parts(_check_zip(content, limits), limits)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
        sheet_name = _choose_sheet(workbook.sheet_names, amendment)
        # skip_empty_area=False: rows start at A1, so list index + 1 is the row number Excel shows.
        sheet_rows = workbook.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
    except ReadError:
        raise
    except (CalamineError, ValueError, OSError) as exc:
        raise ReadError(problem("E001", f"The Excel file is damaged or not a workbook ({type(exc).__name__})")) from exc
    records: list[tuple[int, list[str | None]]] = []
    for number, values in enumerate(sheet_rows, start=1):
        cells = [_cell_text(value) for value in values]
        if any(cell is not None for cell in cells):
            records.append((number, cells))
            _check_row_count(len(records) - 1, limits)
    return _table(records, limits, "xlsx", sheet=sheet_name)


# A genuine workbook's XML never declares a DTD or entities: such a part is an attack (entity bomb, XXE).
XML_DECLARATIONS_NEVER_IN_XLSX = (b"<!doctype", b"<!entity")


def _check_parts(archive: zipfile.ZipFile, limits: Limits) -> None:
    """Every XML part, decompressed once: no DTD or entity declarations, and sheets of a sane extent."""
    for member in archive.infolist():
        if not member.filename.endswith((".xml", ".rels")):
            continue
        xml = archive.read(member)
        if any(declaration in xml.lower() for declaration in XML_DECLARATIONS_NEVER_IN_XLSX):
            raise ReadError(problem("E006", f"The workbook contains XML constructs that are never in a genuine "
                                            f"Excel file (a DTD or entity declaration in {member.filename})"))
        if member.filename.startswith("xl/worksheets/"):
            _check_sheet_extent(xml, limits)


# A cell element (<c ...>, maybe namespace-prefixed), its content, and its position attribute r="AB12".
CELL_ELEMENT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c(\s[^>]*?)?(?:/>|>(.*?)</(?:[A-Za-z_][\w.-]*:)?c>)", re.S)
CELL_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
CELL_VALUE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:v|is)[\s>]")
CELL_POSITION = re.compile(rb"\sr\s*=\s*[\"']([A-Z]{1,3})([0-9]{1,7})[\"']")
# Calamine holds a sheet as a dense grid from A1 to its last valued cell: bound that grid.
EXTRA_ROWS_ALLOWED = 1000
EXTRA_COLUMNS_ALLOWED = 20


def _check_sheet_extent(xml: bytes, limits: Limits) -> None:
    """Refuse a sheet whose cells reach far beyond any real return (one stray cell in XFD1048576 would
    make a grid of 17 billion cells), before the reader builds that grid."""
    bounds = (limits.max_rows + 1 + EXTRA_ROWS_ALLOWED, limits.max_columns + EXTRA_COLUMNS_ALLOWED)
    if not _every_position_within(xml, bounds):  # the quick look failed: look at valued cells only
        _check_valued_cells(xml, bounds, limits)


def _every_position_within(xml: bytes, bounds: tuple[int, int]) -> bool:
    positions = CELL_POSITION.findall(xml)
    if len(positions) < len(CELL_START.findall(xml)):
        return False
    rows = max((int(row) for _, row in positions), default=0)
    columns = max((_column_number(letters) for letters in {letters for letters, _ in positions}), default=0)
    return rows <= bounds[0] and columns <= bounds[1]


def _check_valued_cells(xml: bytes, bounds: tuple[int, int], limits: Limits) -> None:
    for cell in CELL_ELEMENT.finditer(xml):
        if not CELL_VALUE.search(cell.group(2) or b""):  # an empty (styled) cell: not part of the grid
            continue
        position = CELL_POSITION.search(cell.group(1) or b"")
        if position is None:
            raise ReadError(problem("E001", "The Excel sheet does not say where its cells are (the program that "
                                            "wrote it left out cell positions); open it in Excel and save it again"))
        if int(position.group(2)) > bounds[0] or _column_number(position.group(1)) > bounds[1]:
            where = (position.group(1) + position.group(2)).decode()
            raise ReadError(problem("E004", f"The sheet has a value in cell {where}, far outside the return "
                                            f"(at most {limits.max_rows:,} rows and {limits.max_columns} columns); "
                                            f"delete everything outside the table and save again", value=where))


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - ord("A") + 1
    return number


def _check_zip(content: bytes, limits: Limits) -> zipfile.ZipFile:
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
    return archive


def _choose_sheet(sheet_names: list[str], amendment: Amendment) -> str:
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
