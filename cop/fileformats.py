"""Writing return files the way provinces send them: CSV in the province's
delimiter and encoding, or XLSX. Output is byte-for-byte deterministic (XLSX
timestamps are pinned), so the same data always gives the same sha256."""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
import zipfile
from pathlib import Path
from typing import Any, Callable, Sequence

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from cop.spec import FileFormat

FIXED_TIMESTAMP = dt.datetime(2020, 1, 1)
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def write_records(path: Path, records: Sequence[Any], record_type: type) -> None:
    """Dataclass records as a CSV file with a header of the dataclass's fields (manifests, labels)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(record_type.__dataclass_fields__), lineterminator="\n")
        writer.writeheader()
        writer.writerows(dataclasses.asdict(record) for record in records)


def read_records(path: Path, record_type: type) -> list:
    """The records write_records wrote (every field read back as text)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [record_type(**row) for row in csv.DictReader(handle)]


def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[Any]], delimiter: str = ",",
              encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([["" if value is None else value for value in row] for row in rows])
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Any]]]],
               decorate: Callable[[Worksheet, int], None] | None = None) -> bytes:
    """sheets: (title, header, rows) in order; `decorate(sheet, index)` may style a sheet."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for index, (title, header, rows) in enumerate(sheets):
        sheet = workbook.create_sheet(title)
        sheet.append(list(header))
        for row in rows:
            sheet.append(list(row))
            _as_text(sheet[sheet.max_row])
        if decorate:
            decorate(sheet, index)
    workbook.properties.created = FIXED_TIMESTAMP
    workbook.properties.modified = FIXED_TIMESTAMP
    workbook.properties.creator = "COP federal focal agency"
    raw = io.BytesIO()
    workbook.save(raw)
    return _pin_zip_timestamps(raw.getvalue())


def _as_text(cells) -> None:
    """openpyxl stores a string starting with '=' as a formula: every value we write is data, never a formula."""
    for cell in cells:
        if cell.data_type == "f":
            cell.data_type = "s"


def _pin_zip_timestamps(data: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            pinned = zipfile.ZipInfo(info.filename, date_time=ZIP_EPOCH)
            pinned.compress_type = zipfile.ZIP_DEFLATED
            pinned.external_attr = 0o600 << 16
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                content = _MODIFIED.sub(rb"\g<1>2020-01-01T00:00:00Z\g<2>", content)
            target.writestr(pinned, content)
    return out.getvalue()


def return_file_bytes(file_format: FileFormat, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """A return as the province sends it, in its own format."""
    if file_format.format == "xlsx":
        return xlsx_bytes([(file_format.sheet or "Return", header, rows)])
    return csv_bytes(header, rows, file_format.delimiter, file_format.encoding)


def write_bytes(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path
