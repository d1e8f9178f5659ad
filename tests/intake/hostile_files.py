"""The hostile-file corpus: files built in code, deterministically, that once crashed, jammed or fooled a
reader (or would have), each with the specific problem a province must get for it; and odd but genuine
files that must still be read. Every builder takes the month and returns the bytes.

HOSTILE: name -> (build, rule, phrase the message must contain)
GENUINE_VARIANTS: name -> build (the file must be accepted)
"""
from __future__ import annotations

import functools
import io
import struct
import warnings
import zipfile
import zlib

from cop.spec import load_form
from intake_files import good_file

BASE = "IC"  # 27 units, plain UTF-8 CSV on the national headers
LIMITS = load_form().limits
SHEET = "xl/worksheets/sheet1.xml"
RELS = "xl/_rels/workbook.xml.rels"
FAR_CELL = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
DOCTYPE = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'


# ---------------------------------------------------------------- building blocks


@functools.lru_cache(maxsize=8)
def _good_xlsx(month) -> bytes:
    return good_file(BASE, month, file_format="xlsx")


def good_csv(month) -> bytes:
    return good_file(BASE, month)


def parts(month) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(_good_xlsx(month)))
    return {info.filename: archive.read(info.filename) for info in archive.infolist()}


def package(members: dict[str, bytes] | list[tuple[str, bytes]], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in (members.items() if isinstance(members, dict) else members):
            archive.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data, compress_type=compression)
    return buffer.getvalue()


def changed(month, replacements: dict[str, bytes]) -> bytes:
    """The good workbook with some parts replaced or added."""
    return package(parts(month) | replacements)


def with_sheet(month, change) -> bytes:
    members = parts(month)
    members[SHEET] = change(members[SHEET])
    return package(members)


def far_cell(xml: bytes) -> bytes:
    return xml.replace(b"</sheetData>", FAR_CELL + b"</sheetData>")


def sheet_moved_to(month, name: str, target: bytes, change=far_cell) -> bytes:
    """The sheet under another part name, the workbook's relationship pointing at it."""
    members = parts(month)
    members[name] = change(members.pop(SHEET))
    members[RELS] = members[RELS].replace(b"/" + SHEET.encode(), target)
    return package(members)


def first_row_cells(month, cells: bytes) -> bytes:
    """Extra cells appended to the header row of the sheet."""
    return with_sheet(month, lambda xml: xml.replace(b"</row>", cells + b"</row>", 1))


def with_doctype(xml: bytes) -> bytes:
    return DOCTYPE + xml.split(b"?>", 1)[-1] if xml.startswith(b"<?xml") else DOCTYPE + xml


# ---------------------------------------------------------------- byte surgery on an archive


LOCAL, CENTRAL = b"PK\x03\x04", b"PK\x01\x02"
# (offset in the local header, offset in the central directory entry, struct format)
FIELDS = {"version": (4, 6, "<H"), "flags": (6, 8, "<H"), "method": (8, 10, "<H"), "crc": (14, 16, "<L"), "compressed": (18, 20, "<L"),
          "size": (22, 24, "<L")}


def patched(content: bytes, name: str, **values: int) -> bytes:
    """The archive with header fields of member `name` overwritten, in its local header and its directory entry."""
    data = bytearray(content)
    for signature, name_at, which in ((LOCAL, 26, 0), (CENTRAL, 28, 1)):
        start = _header_of(data, signature, name_at, name)
        for field, value in values.items():
            offset, fmt = FIELDS[field][which], FIELDS[field][2]
            struct.pack_into(fmt, data, start + offset, value)
    return bytes(data)


def _header_of(data: bytearray, signature: bytes, name_at: int, name: str) -> int:
    fixed = 30 if signature == LOCAL else 46
    start = data.find(signature)
    while start >= 0:
        length = struct.unpack_from("<H", data, start + name_at)[0]
        if bytes(data[start + fixed:start + fixed + length]) == name.encode():
            return start
        start = data.find(signature, start + 1)
    raise KeyError(name)


def member_info(content: bytes, name: str) -> zipfile.ZipInfo:
    return zipfile.ZipFile(io.BytesIO(content)).getinfo(name)


def bad_crc(month, name=SHEET) -> bytes:
    content = _good_xlsx(month)
    return patched(content, name, crc=member_info(content, name).CRC ^ 0xFFFF)


def method(month, number: int) -> bytes:
    return patched(_good_xlsx(month), SHEET, method=number)


def lying_size(month) -> bytes:
    """The sheet's headers declare its first kilobyte (with that kilobyte's CRC); the data holds all of it."""
    content = _good_xlsx(month)
    first = zipfile.ZipFile(io.BytesIO(content)).read(SHEET)[:1024]
    return patched(content, SHEET, size=len(first), crc=zlib.crc32(first))


def overlapping_members(month) -> bytes:
    """A second directory entry for the sheet's bytes, under the name of another part."""
    content = bytearray(_good_xlsx(month))
    archive = zipfile.ZipFile(io.BytesIO(bytes(content)))
    directory_start = archive.start_dir
    sheet_entry = _header_of(content, CENTRAL, 28, SHEET)
    styles_entry = _header_of(content, CENTRAL, 28, "xl/styles.xml")
    sheet_offset = struct.unpack_from("<L", content, sheet_entry + 42)[0]
    struct.pack_into("<L", content, styles_entry + 42, sheet_offset)
    assert directory_start  # the directory itself is unchanged in size
    return bytes(content)


def renamed_member(month, old: str, new: str) -> bytes:
    """A member's name changed in both headers, keeping its length (names the zipfile writer would refuse)."""
    assert len(old) == len(new)
    return bytes(_good_xlsx(month)).replace(old.encode(), new.encode())


def duplicate_member(month, second_name: str = SHEET) -> bytes:
    members = list(parts(month).items()) + [(second_name, b"<worksheet/>")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile's own "Duplicate name" warning: the point here
        return package(members)


def without_directory(month) -> bytes:
    content = _good_xlsx(month)
    return content[:zipfile.ZipFile(io.BytesIO(content)).start_dir]


def zip64_workbook(month) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts(month).items():
            with archive.open(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), "w", force_zip64=True) as out:
                out.write(data)
    return buffer.getvalue()


class _Unseekable(io.RawIOBase):
    def __init__(self):
        self.buffer = io.BytesIO()

    def writable(self):
        return True

    def write(self, data):
        return self.buffer.write(data)


def streamed_workbook(month) -> bytes:
    """Written to a pipe: sizes and CRCs in data descriptors after each member, as streaming tools do."""
    sink = _Unseekable()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts(month).items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data,
                             compress_type=zipfile.ZIP_DEFLATED)
    return sink.buffer.getvalue()


# ---------------------------------------------------------------- sheets and strings


def inline_cell(reference: str, text: bytes) -> bytes:
    return b'<c r="' + reference.encode() + b'" t="inlineStr"><is><t>' + text + b"</t></is></c>"


def shared_strings_workbook(month, strings: list[bytes], cells: int, index: int = 0) -> bytes:
    """A sheet whose `cells` cells (ten columns wide) all use shared string `index`."""
    members = parts(month)
    table = b"".join(b"<si><t>" + text + b"</t></si>" for text in strings)
    members["xl/sharedStrings.xml"] = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                                       b'count="%d" uniqueCount="%d">' % (cells, len(strings)) + table + b"</sst>")
    rows = []
    for row in range(1, cells // 10 + 1):
        row_cells = b"".join(b'<c r="%s%d" t="s"><v>%d</v></c>' % (bytes([65 + column]), row, index)
                             for column in range(10))
        rows.append(b'<row r="%d">' % row + row_cells + b"</row>")
    members[SHEET] = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                      + b"".join(rows) + b"</sheetData></worksheet>")
    members[RELS] = members[RELS].replace(b"</Relationships>", b'<Relationship Id="rId9" Type="http://schemas.'
                                          b'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
                                          b'Target="sharedStrings.xml"/></Relationships>')
    return package(members)


def utf16(xml: bytes) -> bytes:
    text = xml.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
    return "\ufeff".encode("utf-16-le") + text.encode("utf-16-le")


def second_sheet(month, xml: bytes) -> bytes:
    members = parts(month)
    members["xl/worksheets/sheet2.xml"] = xml
    members["xl/workbook.xml"] = members["xl/workbook.xml"].replace(
        b"</sheets>", b'<sheet xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
                      b'name="Notes" sheetId="2" r:id="rId8"/></sheets>')
    members[RELS] = members[RELS].replace(b"</Relationships>", b'<Relationship Id="rId8" Type="http://schemas.'
                                          b'openxmlformats.org/officeDocument/2006/relationships/worksheet" '
                                          b'Target="worksheets/sheet2.xml"/></Relationships>')
    return package(members)


def far_sheet(_month=None) -> bytes:
    return (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            + FAR_CELL + b"</sheetData></worksheet>")


# ---------------------------------------------------------------- CSV


def csv_lines(month) -> list[bytes]:
    return good_csv(month).split(b"\r\n")


def csv_with_line(month, index: int, change) -> bytes:
    lines = csv_lines(month)
    lines[index] = change(lines[index])
    return b"\r\n".join(lines)


def csv_cell(month, row: int, column: str, value: bytes) -> bytes:
    lines = csv_lines(month)
    headers = lines[0].split(b",")
    cells = lines[row].split(b",")
    cells[headers.index(column.encode())] = value
    lines[row] = b",".join(cells)
    return b"\r\n".join(lines)


def mixed_line_endings(month) -> bytes:
    lines = csv_lines(month)
    endings = [b"\r\n", b"\n", b"\r"]
    return b"".join(line + endings[i % 3] for i, line in enumerate(lines) if line)


def every_cell_wrong(month, rows: int = 40) -> bytes:
    header = csv_lines(month)[0]
    width = header.count(b",") + 1
    return header + b"\r\n" + (b",".join([b"x"] * width) + b"\r\n") * rows


# ---------------------------------------------------------------- the corpus


WORKBOOK_TYPES = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
HOSTILE = {
    # part names: the sheet is wherever the workbook's relationships say, whatever it is called
    "sheet part named .bin, stray far cell": (lambda m: sheet_moved_to(m, "xl/worksheets/sheet1.bin",
                                                                       b"/xl/worksheets/sheet1.bin"),
                                              "E004", "has a value in cell XFD1048576"),
    "sheet part without extension": (lambda m: sheet_moved_to(m, "xl/data", b"data"), "E004", "cell XFD1048576"),
    "sheet part named .png": (lambda m: sheet_moved_to(m, "xl/media/image1.png", b"media/image1.png"), "E004",
                              "cell XFD1048576"),
    "sheet part outside xl/": (lambda m: sheet_moved_to(m, "other/s.xml", b"/other/s.xml"), "E004",
                               "cell XFD1048576"),
    "sheet part named .rels": (lambda m: sheet_moved_to(m, "xl/worksheets/_rels/x.rels",
                                                        b"worksheets/_rels/x.rels"), "E004", "cell XFD1048576"),
    "stray far cell on a second sheet": (lambda m: second_sheet(m, far_sheet()), "E004", "cell XFD1048576"),
    "far column only (XFD1)": (lambda m: first_row_cells(m, inline_cell("XFD1", b"x")), "E004", "cell XFD1"),
    "far row only (A1048576)": (lambda m: with_sheet(m, lambda x: x.replace(
        b"</sheetData>", b'<row r="1048576">' + inline_cell("A1048576", b"x") + b"</row></sheetData>")),
        "E004", "cell A1048576"),
    "far cell in a UTF-16 sheet": (lambda m: with_sheet(m, lambda x: utf16(far_cell(x))), "E001",
                                   "xl/worksheets/sheet1.xml is written in the text encoding 'UTF-16-LE'"),
    "UTF-16 sheet (calamine would read it as empty)": (lambda m: with_sheet(m, utf16), "E001",
                                                       "text encoding 'UTF-16-LE'"),
    "cells without positions in a far row": (lambda m: with_sheet(m, lambda x: x.replace(
        b"</sheetData>", b'<row r="1048576"><c t="inlineStr"><is><t>x</t></is></c></row></sheetData>')),
        "E001", "left out cell positions or wrote them oddly"),
    "a cell with two positions (calamine takes the last)": (lambda m: first_row_cells(
        m, b'<c r="AZ1" r="ZZZ9999999" t="n"><v>60</v></c>'), "E004", "cell ZZZ9999999"),
    "a second position with no space before it": (lambda m: first_row_cells(
        m, b'<c r="AZ1"t="n"r="XFD1048576"><v>1</v></c>'), "E004", "cell XFD1048576"),
    "a second position in lower case": (lambda m: first_row_cells(m, b'<c r="AZ1" r="xfd1048576"><v>1</v></c>'),
                                        "E001", "wrote them oddly"),
    "a position written with a character reference": (lambda m: first_row_cells(
        m, b'<c r="XFD&#49;048576"><v>1</v></c>'), "E001", "wrote them oddly"),
    "sheet named by the workbook but missing": (lambda m: sheet_moved_to(m, "xl/worksheets/sheet1.xml",
                                                                         b"/xl/worksheets/gone.xml"),
                                                "E001", "names a sheet part (xl/worksheets/gone.xml)"),
    "sheet part that is not XML": (lambda m: changed(m, {SHEET: bytes(range(256)) * 8}),
                                   "E001", "is not XML"),
    # the archive
    "bad CRC on the sheet": (bad_crc, "E001", "checksum (CRC) does not match"),
    "bad CRC on an unused part": (lambda m: bad_crc(m, "docProps/core.xml"), "E001", "checksum (CRC)"),
    "archive cut in half": (lambda m: _good_xlsx(m)[:len(_good_xlsx(m)) // 2], "E001", "damaged or cut short"),
    "archive cut before its last bytes": (lambda m: _good_xlsx(m)[:-10], "E001", "damaged or cut short"),
    "archive without its directory": (without_directory, "E001", "damaged or cut short"),
    "sheet compressed with bzip2": (lambda m: method(m, zipfile.ZIP_BZIP2), "E001", "compressed with bzip2"),
    "sheet compressed with LZMA": (lambda m: method(m, zipfile.ZIP_LZMA), "E001", "compressed with LZMA"),
    "sheet compressed with Deflate64": (lambda m: method(m, 9), "E001", "compressed with Deflate64"),
    "sheet compressed with an unknown method": (lambda m: method(m, 77), "E001", "compressed with method 77"),
    "member needing a ZIP version from the future": (lambda m: patched(_good_xlsx(m), SHEET, version=99), "E001",
                                                     "zip file version 9.9"),
    "encrypted member": (lambda m: patched(_good_xlsx(m), SHEET, flags=1), "E001", "workbook is encrypted"),
    "stored member with a deflated body": (lambda m: method(m, zipfile.ZIP_STORED), "E001", "cannot be read"),
    "member larger than its header says": (lying_size, "E006", "holds more data than its header declares"),
    "overlapping members": (overlapping_members, "E006", "parts overlap inside the archive"),
    "two members of the same name": (duplicate_member, "E006", "holds two parts named 'xl/worksheets/sheet1.xml'"),
    "two members differing in case": (lambda m: duplicate_member(m, SHEET.upper()), "E006", "holds two parts named"),
    "absolute member path": (lambda m: package(list(parts(m).items()) + [("/etc/cron.d/x", b"x")]), "E006",
                             "absolute, with '..'"),
    "member path with ..": (lambda m: package(list(parts(m).items()) + [("../../evil.sh", b"x")]), "E006",
                            "archive trick"),
    "member path with backslash ..": (lambda m: package(list(parts(m).items()) + [("..\\..\\evil.sh", b"x")]),
                                      "E006", "archive trick"),
    "member path with a drive letter": (lambda m: package(list(parts(m).items()) + [("C:/evil.sh", b"x")]),
                                        "E006", "archive trick"),
    "member name with a control character": (lambda m: renamed_member(m, "docProps/app.xml", "docProps/a\x01p.xml"),
                                             "E006", "control characters"),
    "zip bomb (declared sizes)": (lambda m: changed(m, {"docProps/junk.xml": b"0" * 60_000_000}), "E006",
                                  "would expand to 60 MB"),
    "zip bomb (compression ratio)": (lambda m: changed(m, {"docProps/junk.xml": b"0" * 20_000_000}), "E006",
                                     "times compressed"),
    "a thousand and one members": (lambda m: package(list(parts(m).items()) + [
        (f"docProps/x{i}.xml", b"<x/>") for i in range(1001)]), "E006", "parts"),
    "ZIP archive that is not a workbook": (lambda m: package({"data.csv": good_csv(m)}), "E005",
                                           "a ZIP archive, not an Excel .xlsx workbook"),
    "OpenDocument spreadsheet": (lambda m: package({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
                                                    "content.xml": b"<office:document-content/>"}),
                                 "E005", "an OpenDocument spreadsheet"),
    "password-protected Excel file": (lambda m: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500
                                      + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 500,
                                      "E005", "password-protected Excel file"),
    # XML
    "entity bomb in the sheet": (lambda m: with_sheet(m, with_doctype), "E006", "DTD or entity declaration in "
                                                                                "xl/worksheets/sheet1.xml"),
    "entity bomb in the shared strings": (lambda m: changed(m, {"xl/sharedStrings.xml": with_doctype(b"<sst/>")}),
                                          "E006", "in xl/sharedStrings.xml"),
    "DTD in the workbook relationships": (lambda m: changed(m, {RELS: with_doctype(parts(m)[RELS])}), "E006", "in xl/_rels/workbook.xml.rels"),
    "DTD in a part named .bin": (lambda m: changed(m, {"xl/printerSettings1.bin": with_doctype(b"<x/>")}), "E006",
                                 "in xl/printerSettings1.bin"),
    "DTD in a UTF-16 part": (lambda m: changed(m, {"docProps/app.xml": utf16(with_doctype(b"<x/>"))}), "E006",
                             "in docProps/app.xml"),
    "external entity (XXE)": (lambda m: with_sheet(m, lambda x: b'<!DOCTYPE x [<!ENTITY e SYSTEM '
                                                                b'"file:///etc/passwd">]>' + x),
                              "E006", "DTD or entity declaration"),
    "XML in an encoding Excel never writes": (lambda m: changed(m, {"docProps/app.xml": b'<?xml version="1.0" '
                                                                   b'encoding="UTF-7"?><x/>'}),
                                              "E001", "text encoding 'UTF-7'"),
    "malformed sheet XML": (lambda m: with_sheet(m, lambda x: x[:len(x) // 2]), "E001", "damaged or not a workbook"),
    # cells and strings
    "giant inline string": (lambda m: first_row_cells(m, inline_cell("AZ1", b"A" * 5000)), "E007",
                            "cell AZ1 holds 5,000 characters"),
    "huge number in a cell": (lambda m: first_row_cells(m, b'<c r="AZ1"><v>' + b"9" * 3000 + b"</v></c>"),
                              "E007", "holds 3,000 characters"),
    "giant formula": (lambda m: first_row_cells(m, b'<c r="AZ1"><f>' + b"1+" * 2000 + b"1</f><v>0</v></c>"),
                      "E007", "cell AZ1 holds 4,001 characters"),
    "giant shared string": (lambda m: shared_strings_workbook(m, [b"ok", b"B" * 20_000], 20, index=1), "E007",
                            "holds 20,000 characters"),
    "shared-strings bomb": (lambda m: shared_strings_workbook(m, [b"C" * 990], 60_000), "E006",
                            "shared-strings bomb"),
    "shared string that does not exist": (lambda m: shared_strings_workbook(m, [b"C" * 990], 60_000, index=7),
                                          "E001", "shared text number 7"),
    "workbook without sheets": (lambda m: changed(m, {"xl/workbook.xml": parts(m)["xl/workbook.xml"].split(
        b"<sheets>")[0] + b"<sheets></sheets></workbook>"}), "E002", "has no sheets"),
    # CSV text
    "NUL byte in a UTF-8 CSV": (lambda m: csv_with_line(m, 3, lambda line: line[:10] + b"\x00" + line[10:]),
                                "E001", "NUL characters (the first on line 4)"),
    "NUL-padded CSV": (lambda m: good_csv(m) + b"\x00" * 200_000, "E001", "NUL characters"),
    "NUL character in a UTF-16 CSV": (lambda m: b"\xff\xfe" + good_csv(m).decode().replace(
        "IC-ISB-002", "IC-ISB\x00002").encode("utf-16-le"), "E001", "NUL characters (the first on line 3)"),
    "binary noise renamed .csv": (lambda m: bytes(range(256)) * 20, "E005", "contains binary data"),
    "giant CSV cell": (lambda m: csv_cell(m, 3, "homicide", b"7" * 2000), "E007",
                       "in row 4, column 'homicide', holds 2,000 characters"),
    "CSV field over the parser's limit": (lambda m: csv_cell(m, 2, "burglary", b'"' + b"z" * 200_000 + b'"'),
                                          "E007", "more than 131,072 characters"),
    "one 4 MB line": (lambda m: b"x" * 4_000_000, "E007", "more than 131,072 characters"),
    "unclosed quote": (lambda m: csv_with_line(m, 2, lambda line: b'"' + line), "E007", "characters"),
    "ten thousand columns": (lambda m: b",".join(b"c%d" % i for i in range(10_000)) + b"\r\n"
                             + b",".join([b"1"] * 10_000) + b"\r\n", "E004", "at most 120 are accepted"),
    "two million blank lines": (lambda m: csv_lines(m)[0] + b"\r\n" * 2_000_000, "E002",
                                "header row but no data rows"),
    "BOM and nothing else": (lambda m: b"\xef\xbb\xbf", "E002", "The file is empty"),
    "UTF-32 BOM with UTF-8 text": (lambda m: b"\xff\xfe\x00\x00" + good_csv(m), "E001", "not in UTF-8"),
    "Windows-1252 bytes Windows-1252 cannot show": (lambda m: good_csv(m) + b"\x81\x8d\x8f\x90\x9d", "E001",
                                                    "not in UTF-8, UTF-16 or Windows-1252"),
    "Shift-JIS headers": (lambda m: "県,署\r\n1,2\r\n".encode("shift_jis"), "E001", "not in UTF-8"),
    "every cell wrong": (every_cell_wrong, "E041", "which is not a number"),
    "control characters inside a CSV cell": (lambda m: csv_cell(m, 2, "homicide", b"1\x01\x1b[2J"), "E041",
                                             "'homicide' has '1\ufffd\ufffd[2J', which is not a number"),
    "control character escaped in a workbook cell": (lambda m: first_row_cells(m, inline_cell("AO1", b"x_x0001_y")),
                                                     "E011", "Column 'x\ufffdy' is not a field"),
}

GENUINE_VARIANTS = {
    "zip64 workbook": zip64_workbook,
    "streamed workbook (data descriptors)": streamed_workbook,
    "uncompressed workbook": lambda m: package(parts(m), compression=zipfile.ZIP_STORED),
    "workbook with a shared-strings table": lambda m: changed(m, {"xl/sharedStrings.xml": (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>unused</t></si></sst>')}),
    "UTF-32 CSV": lambda m: good_csv(m).decode().encode("utf-32"),
    "UTF-16 big-endian CSV": lambda m: good_csv(m).decode().encode("utf-16-be").join([b"\xfe\xff", b""]),
    "CSV with two byte-order marks": lambda m: b"\xef\xbb\xbf\xef\xbb\xbf" + good_csv(m),
    "CSV with mixed line endings": mixed_line_endings,
    "CSV ending in a DOS end-of-file mark": lambda m: good_csv(m) + b"\x1a",
}
