"""An Excel workbook's ZIP package, checked through before calamine reads a byte of it.

calamine (Rust) holds each sheet as a dense grid and aborts the whole process when an allocation
fails, so nothing it is given may ask for one. Every member of the archive is decompressed here,
once, by its local header and under the form's limits, whatever its name; every part that is XML
by its content is checked for DTDs and entities; every worksheet (by the workbook's relationships
and by content) for its extent and for the text its cells would expand to. A file that fails any
check is refused with a ReadError naming the part and the trick, never an exception.
"""
from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
import zlib

from cop.spec import Limits
from loaders.problems import problem


class PackageError(Exception):
    """Raised as ReadError by loaders.reading (kept apart to avoid an import cycle)."""

    def __init__(self, rule: str, detail: str, value: object = None, **position):
        super().__init__(detail)
        self.problem = problem(rule, detail, value=value, **position)


# Below this size a highly compressible member (a sheet of empty styled cells) is no threat.
ZIP_RATIO_CHECK_MIN_BYTES = 1_000_000
MAX_ZIP_MEMBERS = 1000
# Excel, LibreOffice and every library we know store or deflate; nothing else is a workbook.
COMPRESSION_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA", 9: "Deflate64", 93: "Zstandard",
                     95: "XZ", 97: "WavPack", 98: "PPMd", 99: "AES encryption"}
LOCAL_HEADER = struct.Struct("<4s5H3L2H")
# Calamine holds a sheet as a dense grid from A1 to its last valued cell: bound that grid.
EXTRA_ROWS_ALLOWED = 1000
EXTRA_COLUMNS_ALLOWED = 20
WORKSHEET_RELATIONSHIP = re.compile(r"/(worksheet|chartsheet|dialogsheet|macrosheet|xlMacrosheet)$")


def check_workbook(content: bytes, limits: Limits) -> None:
    """Refuse (PackageError) anything in the package that a genuine workbook never holds."""
    parts = _unpacked_parts(content, limits)
    xml_parts = {}
    for name, data in parts.items():
        if found := xml_by_content(data):
            _check_declarations(name, *found)
            xml_parts[name] = found[0]
    string_lengths = _shared_string_lengths(xml_parts, limits)
    for name in _worksheets(parts, xml_parts):
        xml = xml_parts.get(name)
        if xml is None:
            raise PackageError("E001", f"The workbook's sheet part {name} is not XML, so the sheet cannot be read")
        _check_sheet(name, xml, limits, string_lengths)


# ---------------------------------------------------------------- the archive


def _unpacked_parts(content: bytes, limits: Limits) -> dict[str, bytes]:
    archive = _open(content)
    members = archive.infolist()
    names = [member.filename for member in members]
    if "xl/workbook.xml" not in names:
        kind = "an OpenDocument spreadsheet" if "content.xml" in names else "a ZIP archive"
        raise PackageError("E005", f"The file is {kind}, not an Excel .xlsx workbook")
    _check_names(names)
    _check_declared_sizes(members, limits)
    _check_layout(members, archive.start_dir)
    return {member.filename: _member_data(content, member) for member in members}


def _open(content: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError, struct.error,
            NotImplementedError, RuntimeError) as exc:
        raise PackageError("E001", f"The file looks like an Excel file but is damaged or cut short "
                                   f"({_reason(exc)})") from exc


def _reason(exc: Exception) -> str:
    return str(exc).strip().rstrip(".")[:120] or type(exc).__name__


def _check_names(names: list[str]) -> None:
    seen = set()
    for name in names:
        folded = name.lower()
        if folded in seen:
            raise PackageError("E006", f"The workbook holds two parts named '{_printable(name)}', which no spreadsheet "
                                       f"program writes (an archive trick)", value=_printable(name))
        seen.add(folded)
        steps = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in steps or re.match(r"^[A-Za-z]:", name) or \
                any(ord(ch) < 32 for ch in name):
            raise PackageError("E006", f"The workbook holds a part with the path '{_printable(name)}' (absolute, with "
                                       f"'..' or control characters), which no spreadsheet program writes "
                                       f"(an archive trick)", value=_printable(name))


def _printable(name: str) -> str:
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in name[:100])


def _check_declared_sizes(members: list[zipfile.ZipInfo], limits: Limits) -> None:
    """Zip bombs, refused on the sizes the archive declares, before anything is decompressed."""
    total = sum(member.file_size for member in members)
    worst = max(members, key=lambda m: m.file_size / max(m.compress_size, 1))
    ratio = worst.file_size / max(worst.compress_size, 1)
    if len(members) > MAX_ZIP_MEMBERS or total > limits.max_xlsx_uncompressed_bytes or (
            worst.file_size > ZIP_RATIO_CHECK_MIN_BYTES and ratio > limits.max_xlsx_compression_ratio):
        raise PackageError(
            "E006", f"The workbook would expand to {total / 1e6:,.0f} MB ({len(members)} parts, up to "
                    f"{ratio:,.0f} times compressed); the limit is {limits.max_xlsx_uncompressed_bytes / 1e6:,.0f} MB")
    for member in members:
        if member.flag_bits & 0x1:
            raise PackageError("E001", f"The workbook is encrypted (part {member.filename} needs a password); "
                                       f"remove the password in Excel (File > Info > Protect Workbook)")
        if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            method = COMPRESSION_NAMES.get(member.compress_type, f"method {member.compress_type}")
            raise PackageError("E001", f"The workbook's part {member.filename} is compressed with {method}, which "
                                       f"Excel never uses")


def _check_layout(members: list[zipfile.ZipInfo], directory_start: int) -> None:
    """Members one after another, never overlapping (overlapping members are how the worst zip bombs
    multiply a few kilobytes into gigabytes)."""
    ordered = sorted(members, key=lambda m: m.header_offset)
    for member, following in zip(ordered, ordered[1:] + [None]):
        end = member.header_offset + LOCAL_HEADER.size + len(member.filename.encode()) + member.compress_size
        next_start = following.header_offset if following else directory_start
        if end > next_start:
            raise PackageError("E006", f"The workbook's parts overlap inside the archive ({member.filename}), "
                                       f"which no spreadsheet program writes (an archive trick)")


def _member_data(content: bytes, member: zipfile.ZipInfo) -> bytes:
    """The member's bytes, read from its local header and decompressed here, at most its declared size:
    a member that holds more than its header says is refused, not trusted."""
    raw = _raw_member(content, member)
    if member.compress_type == zipfile.ZIP_STORED:
        data, complete = raw[:member.file_size + 1], len(raw) == member.file_size
    else:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            data = inflater.decompress(raw, member.file_size + 1)
        except zlib.error as exc:
            raise _damaged(member, f"its compressed data is invalid: {_reason(exc)}") from exc
        complete = inflater.eof
    if len(data) > member.file_size:
        raise PackageError("E006", f"The workbook's part {member.filename} holds more data than its header "
                                   f"declares ({member.file_size:,} bytes), which is how zip bombs hide")
    if not complete or len(data) != member.file_size:
        raise _damaged(member, "it is cut short")
    if zlib.crc32(data) != member.CRC:
        raise _damaged(member, "its checksum (CRC) does not match")
    return data


def _raw_member(content: bytes, member: zipfile.ZipInfo) -> bytes:
    start = member.header_offset
    header = content[start:start + LOCAL_HEADER.size]
    if len(header) < LOCAL_HEADER.size:
        raise _damaged(member, "it is cut short")
    signature, _, _, _, _, _, _, _, _, name_length, extra_length = LOCAL_HEADER.unpack(header)
    name = content[start + LOCAL_HEADER.size:start + LOCAL_HEADER.size + name_length]
    if signature != b"PK\x03\x04" or name.replace(b"\\", b"/") != member.orig_filename.encode(
            "utf-8" if member.flag_bits & 0x800 else "cp437", errors="replace").replace(b"\\", b"/"):
        raise _damaged(member, "its entry in the archive does not match the archive's directory")
    data_start = start + LOCAL_HEADER.size + name_length + extra_length
    raw = content[data_start:data_start + member.compress_size]
    if len(raw) < member.compress_size:
        raise _damaged(member, "it is cut short")
    return raw


def _damaged(member: zipfile.ZipInfo, why: str) -> PackageError:
    return PackageError("E001", f"The Excel file is damaged: its part {member.filename} cannot be read ({why})")


# ---------------------------------------------------------------- XML


BYTE_ORDER_MARKS = ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
                    (b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
# A genuine workbook's XML never declares a DTD or entities: such a part is an attack (entity bomb, XXE).
XML_DECLARATIONS_NEVER_IN_XLSX = (b"<!doctype", b"<!entity")
XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?\sencoding\s*=\s*[\"']([^\"']*)[\"']")


def xml_by_content(data: bytes) -> tuple[bytes, str] | None:
    """(the part as UTF-8 bytes, its encoding) when it is XML by its content, whatever its name; else None."""
    encoding = next((name for mark, name in BYTE_ORDER_MARKS if data.startswith(mark)), None)
    if encoding is None and len(data) > 1 and data[0] == 0 and data[1] == ord("<"):
        encoding = "utf-16-be"
    elif encoding is None and len(data) > 1 and data[0] == ord("<") and data[1] == 0:
        encoding = "utf-16-le"
    if encoding and encoding != "utf-8":
        data = data.decode(encoding, errors="replace").lstrip("\ufeff").encode("utf-8")
    elif encoding == "utf-8":
        data = data[3:]
    return (data, encoding or "utf-8") if data.lstrip()[:1] == b"<" else None


def _check_declarations(name: str, xml: bytes, encoding: str) -> None:
    lowered = xml.lower()
    if any(declaration in lowered for declaration in XML_DECLARATIONS_NEVER_IN_XLSX):
        raise PackageError("E006", f"The workbook contains XML constructs that are never in a genuine Excel "
                                   f"file (a DTD or entity declaration in {name})")
    declared = XML_ENCODING.match(xml)
    if encoding != "utf-8" or (declared and declared.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8")):
        written = encoding.upper() if encoding != "utf-8" else declared.group(1).decode("ascii", "replace")[:40]
        raise PackageError("E001", f"The workbook's part {name} is written in the text encoding '{written}', "
                                   f"which Excel never uses and this reader cannot read", value=written)


# ---------------------------------------------------------------- which parts are sheets


RELATIONSHIP = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Relationship\s([^>]*)>")
ATTRIBUTE = re.compile(rb"([\w:.-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
SHEET_DATA = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?sheetData[\s/>]")
SHARED_STRINGS_ROOT = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:[A-Za-z_][\w.-]*:)?sst[\s>]", re.S)


def _worksheets(parts: dict[str, bytes], xml_parts: dict[str, bytes]) -> list[str]:
    """Every part the workbook's relationships call a sheet, and every part that holds sheet data."""
    named = {target for kind, target in _relationships(xml_parts, "xl/_rels/workbook.xml.rels", "xl")
             if WORKSHEET_RELATIONSHIP.search(kind)}
    for target in sorted(named):
        if target not in parts:
            raise PackageError("E001", f"The workbook names a sheet part ({target}) that is not in the file; "
                                       f"the file is incomplete or damaged")
    by_content = {name for name, xml in xml_parts.items() if SHEET_DATA.search(xml)}
    return sorted(named | by_content)


def _relationships(xml_parts: dict[str, bytes], rels_name: str, base: str) -> list[tuple[str, str]]:
    """(type, part name) of each internal relationship in a .rels part, targets resolved as Excel does."""
    found = []
    for match in RELATIONSHIP.finditer(xml_parts.get(rels_name, b"")):
        attributes = {key.split(b":")[-1]: (double if double is not None else single)
                      for key, double, single in ATTRIBUTE.findall(match.group(1))}
        target = attributes.get(b"Target", b"").decode("utf-8", errors="replace").replace("\\", "/")
        if not target or attributes.get(b"TargetMode", b"").lower() == b"external":
            continue
        path = target.lstrip("/") if target.startswith("/") else posixpath.join(base, target)
        found.append((attributes.get(b"Type", b"").decode("utf-8", errors="replace"), posixpath.normpath(path)))
    return found


# ---------------------------------------------------------------- shared strings


SHARED_STRING = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si(?:\s[^>]*)?>(.*?)</(?:[A-Za-z_][\w.-]*:)?si>|"
                           rb"<(?:[A-Za-z_][\w.-]*:)?si(?:\s[^>]*)?/>", re.S)


def _shared_string_lengths(xml_parts: dict[str, bytes], limits: Limits) -> list[int]:
    """The length of every shared string, from each part that is a shared-strings table by content:
    calamine copies a string into every cell that uses it."""
    lengths: list[int] = []
    for xml in xml_parts.values():
        if SHARED_STRINGS_ROOT.match(xml):
            lengths.extend(_text_length(match.group(1) or b"", limits) for match in SHARED_STRING.finditer(xml))
    return lengths


def _text_length(inner: bytes, limits: Limits) -> int:
    """Bytes, an upper bound of the characters; the characters themselves when that bound is too long."""
    if len(inner) <= limits.max_cell_characters:
        return len(inner)
    return len(TAG.sub(b"", inner).decode("utf-8", errors="replace"))


# ---------------------------------------------------------------- one sheet


# A cell element (<c ...>, maybe namespace-prefixed), its content, and its position attribute r="AB12".
CELL_ELEMENT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c(\s[^>]*?)?(?:/>|>(.*?)</(?:[A-Za-z_][\w.-]*:)?c>)", re.S)
CELL_START = re.compile(rb"c(?<=<c|:c)[\s/>]")
CELL_VALUE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:v|is)[\s>]")
# Position attributes are found however they are written (quick-xml is lenient: no space before them,
# a namespace prefix, twice in one cell, where calamine takes the last one).
# (Each pattern starts with a literal and looks behind it, which keeps the scan of a sheet fast.)
POSITION_NAME = re.compile(rb"r(?<![\w.-]r)\s*=")
CELL_POSITION = re.compile(rb"r(?<![\w.-]r)\s*=\s*[\"']([A-Z]{1,3})([0-9]{1,7})[\"']")
ROW_WITH_POSITION = re.compile(rb"row(?<=<row|:row)\s[^>]*?r(?<![\w.-]r)\s*=")
SHARED_STRING_TYPE = re.compile(rb"t(?<![\w.-]t)\s*=\s*[\"']s[\"']")
# A shared-string cell: its type attribute, the rest of its start tag, then at once its value (the index).
SHARED_STRING_CELL = re.compile(rb"t(?<![\w.-]t)\s*=\s*[\"']s[\"'][^>]*>\s*<(?:[A-Za-z_][\w.-]*:)?v\s*>\s*([0-9]{1,12})\s*<")
TAG = re.compile(rb"<[^>]*>")


def _check_sheet(name: str, xml: bytes, limits: Limits, string_lengths: list[int]) -> None:
    _check_sheet_extent(xml, limits)
    _check_long_text(xml, limits)
    _check_shared_text(name, xml, limits, string_lengths)


def _check_sheet_extent(xml: bytes, limits: Limits) -> None:
    """Refuse a sheet whose cells reach far beyond any real return (one stray cell in XFD1048576 would
    make a grid of 17 billion cells), before the reader builds that grid."""
    bounds = (limits.max_rows + 1 + EXTRA_ROWS_ALLOWED, limits.max_columns + EXTRA_COLUMNS_ALLOWED)
    if not _every_position_within(xml, bounds):  # the quick look failed: look at valued cells only
        _check_valued_cells(xml, bounds, limits)


def _every_position_within(xml: bytes, bounds: tuple[int, int]) -> bool:
    """The quick look: one plain position per cell and no other position attribute anywhere but rows'."""
    positions = CELL_POSITION.findall(xml)
    if len(positions) != len(CELL_START.findall(xml)) or \
            len(POSITION_NAME.findall(xml)) != len(positions) + len(ROW_WITH_POSITION.findall(xml)):
        return False
    rows = max(map(int, {row for _, row in positions}), default=0)
    columns = max(map(column_number, {letters for letters, _ in positions}), default=0)
    return rows <= bounds[0] and columns <= bounds[1]


def _check_valued_cells(xml: bytes, bounds: tuple[int, int], limits: Limits) -> None:
    for cell in CELL_ELEMENT.finditer(xml):
        if not CELL_VALUE.search(cell.group(2) or b""):  # an empty (styled) cell: not part of the grid
            continue
        attributes = cell.group(1) or b""
        positions = CELL_POSITION.findall(attributes)
        if not positions or len(positions) != len(POSITION_NAME.findall(attributes)):
            raise PackageError("E001", "The Excel sheet does not say plainly where its cells are (the program "
                                       "that wrote it left out cell positions or wrote them oddly); open it in "
                                       "Excel and save it again")
        for letters, row in positions:
            if int(row) > bounds[0] or column_number(letters) > bounds[1]:
                where = (letters + row).decode()
                raise PackageError("E004", f"The sheet has a value in cell {where}, far outside the return "
                                           f"(at most {limits.max_rows:,} rows and {limits.max_columns} columns); "
                                           f"delete everything outside the table and save again", value=where)


def column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - ord("A") + 1
    return number


def column_letters(number: int) -> str:
    """1 -> A, 27 -> AA: the column as a spreadsheet names it."""
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _check_long_text(xml: bytes, limits: Limits) -> None:
    """A cell's own text (inline string, value or formula) longer than any cell of a return may hold."""
    longest = limits.max_cell_characters
    for match in re.finditer(rb">([^<]{%d,})" % (longest + 1), xml):
        characters = len(match.group(1).decode("utf-8", errors="replace"))
        if characters > longest:
            raise giant_cell(_cell_at(xml, match.start()), characters, limits)


def _cell_at(xml: bytes, offset: int) -> str:
    start = max(xml.rfind(b"<c ", 0, offset), xml.rfind(b":c ", 0, offset))
    position = CELL_POSITION.search(xml, start, xml.find(b">", start) + 1) if start >= 0 else None
    return (position.group(1) + position.group(2)).decode() if position else "?"


def giant_cell(where: str, characters: int, limits: Limits, **position) -> PackageError:
    return PackageError("E007", f"The cell {where} holds {characters:,} characters; a cell of the return holds at "
                                f"most {limits.max_cell_characters:,}", value=f"{characters:,} characters", **position)


def _check_shared_text(name: str, xml: bytes, limits: Limits, lengths: list[int]) -> None:
    """Shared-strings bomb: a few long strings, each copied into thousands of cells."""
    budget = limits.max_xlsx_uncompressed_bytes
    uses = len(SHARED_STRING_TYPE.findall(xml))
    longest = max(lengths, default=0)
    if uses == 0 or (uses * longest <= budget and longest <= limits.max_cell_characters):
        return
    cells = list(SHARED_STRING_CELL.finditer(xml))
    if len(cells) != uses:  # a shared-string cell written unusually: a regular expression cannot pair them
        raise PackageError("E006", f"The sheet {name} uses the workbook's shared text in cells written in a way no "
                                   f"spreadsheet program writes")
    numbers = [int(cell.group(1)) for cell in cells]
    if max(numbers) >= len(lengths):
        raise PackageError("E001", f"The sheet {name} refers to shared text number {max(numbers):,}, which the "
                                   f"workbook does not hold; the file is damaged")
    used = [lengths[number] for number in numbers]
    if max(used) > limits.max_cell_characters:
        cell = cells[used.index(max(used))]
        raise giant_cell(_cell_at(xml, cell.start() + 1), max(used), limits)
    if sum(used) > budget:
        raise PackageError("E006", f"The sheet's cells repeat the workbook's shared text into more than "
                                   f"{budget / 1e6:,.0f} MB (a shared-strings bomb)")
