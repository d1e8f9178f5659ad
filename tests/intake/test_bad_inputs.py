"""Every kind of bad file is rejected with the specific problem a province needs to fix it, nothing is
loaded, and the data already in the warehouse is untouched. The submission itself is registered
(status rejected) with its problems in audit.problems."""
from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest

from cop.period import add_months, format_period
from cop.spec import load_form
from intake_files import good_file, submit
from loaders.sample import encode_return, sample_return

pytestmark = pytest.mark.xdist_group("intake_bad_inputs")  # one module, one worker: one database

LIMITS = load_form().limits
BASE = "IC"  # 27 units, plain UTF-8 CSV on the national headers


def records(month, province=BASE, units=None):
    return sample_return(province, month, units=units)


def encoded(rows, province=BASE, **kwargs):
    return encode_return(rows, province, **kwargs)


def changed(month, change, province=BASE):
    rows = records(month, province)
    change(rows)
    return encoded(rows, province)


def with_header(month, old, new, province=BASE):
    return changed(month, lambda rows: [r.update({new: r.pop(old)}) for r in rows], province)


def set_cell(row, column, value):
    def change(rows):
        rows[row][column] = value
    return change


def xlsx_parts(parts: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def zip_bomb(month) -> bytes:
    # Real workbook parts plus a sheet that inflates to 60 MB of zeros from a few dozen kilobytes.
    good = zipfile.ZipFile(io.BytesIO(good_file(BASE, month, file_format="xlsx")))
    parts = {info.filename: good.read(info.filename) for info in good.infolist()}
    parts["xl/worksheets/sheet1.xml"] = b"<worksheet>" + b"0" * 60_000_000 + b"</worksheet>"
    return xlsx_parts(parts)


def entity_bomb(month) -> bytes:
    good = zipfile.ZipFile(io.BytesIO(good_file(BASE, month, file_format="xlsx")))
    parts = {info.filename: good.read(info.filename) for info in good.infolist()}
    parts["xl/worksheets/sheet1.xml"] = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
        b'<c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>')
    return xlsx_parts(parts)


def with_sheet_xml(month, change) -> bytes:
    good = zipfile.ZipFile(io.BytesIO(good_file(BASE, month, file_format="xlsx")))
    parts = {info.filename: good.read(info.filename) for info in good.infolist()}
    parts["xl/worksheets/sheet1.xml"] = change(parts["xl/worksheets/sheet1.xml"])
    return xlsx_parts(parts)


def far_away_cell(month) -> bytes:
    # One stray value in the last cell of the sheet: a reader that builds the grid would need 500 GB.
    far = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>checked</t></is></c></row></sheetData>'
    return with_sheet_xml(month, lambda xml: xml.replace(b"</sheetData>", far))


def cells_without_positions(month) -> bytes:
    return with_sheet_xml(month, lambda xml: re.sub(rb'(<c[^>]*?) r="[A-Z]+[0-9]+"', rb"\1", xml))


def punjab_two_sheets_wrong_names(month) -> bytes:
    from cop.fileformats import xlsx_bytes

    rows = records(month, "PB", units=5)
    header = list(rows[0])
    return xlsx_bytes([("Sheet1", header, [list(r.values()) for r in rows]), ("Notes", ["x"], [["y"]])])


def other_province_unit(rows):
    rows[1].update(unit_code="SD-KHS-001", district_code="KHS")


def paired_survey(rows):
    rows[2]["survey_satisfied"] = None


def ragged(month) -> bytes:
    text = good_file(BASE, month).decode("utf-8").splitlines()
    text[3] += ",999"
    return ("\r\n".join(text) + "\r\n").encode()


def too_many_columns(rows):
    for row in rows:
        row.update({f"extra_{i}": 1 for i in range(LIMITS.max_columns)})


# id -> (build(month) -> bytes, expected rule, text the message must contain, province, month shift, xlsx name)
CASES = {
    "wrong encoding": (lambda m: b"province_code,unit_code\r\nIC,\x81\x8d\x9d\xff\r\n", "E001",
                       "not in UTF-8, UTF-16 or Windows-1252"),
    "binary file renamed .csv": (lambda m: bytes(range(256)) * 20, "E005", "contains binary data"),
    "PNG renamed .csv": (lambda m: b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "E005", "a PNG image"),
    "old Excel .xls": (lambda m: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "E005", "old Excel .xls"),
    "empty file": (lambda m: b"", "E002", "The file is empty"),
    "blank lines only": (lambda m: b"\r\n \r\n\r\n", "E002", "The file is empty"),
    "header only": (lambda m: good_file(BASE, m).split(b"\r\n")[0] + b"\r\n", "E002",
                    "header row but no data rows"),
    "missing required column": (lambda m: changed(m, lambda rows: [r.pop("homicide") for r in rows]), "E010",
                                "The required column 'homicide' (homicide) is missing"),
    "unknown column": (lambda m: with_header(m, "homicide", "homicides"), "E011",
                       "Column 'homicides' is not a field of the national form"),
    "header that is SQL": (lambda m: changed(m, lambda rows: [r.update({'x"; DROP TABLE raw.submissions; --': 1})
                                                              for r in rows]),
                           "E011", "Column 'x\"; DROP TABLE raw.submissions; --' is not a field"),
    "column given twice": (lambda m: changed(m, lambda rows: [r.update({" HOMICIDE ": r["homicide"]}) for r in rows]),
                           "E012", "holds the same field (homicide)"),
    "values without a header": (ragged, "E011", "has values but no header"),
    "duplicate unit": (lambda m: changed(m, lambda rows: rows.append(dict(rows[0]))), "E034", "has 2 rows"),
    "unit of another province": (lambda m: changed(m, other_province_unit), "E031", "belongs to Sindh"),
    "unknown unit": (lambda m: changed(m, set_cell(1, "unit_code", "IC-ISB-999")), "E030",
                     "'IC-ISB-999' is not in the federal unit registry"),
    "unit code missing": (lambda m: changed(m, set_cell(1, "unit_code", None)), "E035", "'unit_code' is empty"),
    "wrong district": (lambda m: changed(m, set_cell(1, "district_code", "LHR")), "E032", "not 'LHR'"),
    "negative count": (lambda m: changed(m, set_cell(2, "homicide", -2)), "E042", "'homicide' is -2"),
    "decimal count": (lambda m: changed(m, set_cell(2, "burglary", "2.5")), "E043", "must be a whole number"),
    "text count": (lambda m: changed(m, set_cell(2, "burglary", "twelve")), "E041",
                   "'burglary' has 'twelve', which is not a number"),
    "count over the cap": (lambda m: changed(m, set_cell(2, "homicide", 5000)), "E044", "above the cap of 200"),
    "required value missing": (lambda m: changed(m, set_cell(2, "vehicle_theft", None)), "E040",
                               "'vehicle_theft' is empty"),
    "X101 female officers > officers": (
        lambda m: changed(m, lambda rows: rows[4].update(officers_posted=10, female_officers_posted=11,
                                                         officers_trained_cop=3)),
        "X101", "'female_officers_posted' (11) is more than 'officers_posted' (10)"),
    "X102 trained > posted": (
        lambda m: changed(m, lambda rows: rows[4].update(officers_posted=10, female_officers_posted=1,
                                                         officers_trained_cop=12)),
        "X102", "'officers_trained_cop' (12) is more than 'officers_posted' (10)"),
    "X103 complaints against police > complaints": (
        lambda m: changed(m, lambda rows: rows[4].update(complaints_received=3, complaints_against_police=4)),
        "X103", "'complaints_against_police' (4) is more than 'complaints_received' (3)"),
    "X104 mobile snatching > street crime": (
        lambda m: changed(m, lambda rows: rows[4].update(street_crime_reported=3, mobile_snatching=9)),
        "X104", "'mobile_snatching' (9) is more than 'street_crime_reported' (3)"),
    "X105 satisfied > respondents": (
        lambda m: changed(m, lambda rows: rows[4].update(survey_respondents=30, survey_satisfied=31)),
        "X105", "'survey_satisfied' (31) is more than 'survey_respondents' (30)"),
    "X105 one survey figure without the other": (lambda m: changed(m, paired_survey), "X105",
                                                 "'survey_respondents' is given but 'survey_satisfied' is empty"),
    "period mismatch in the rows": (lambda m: changed(m, lambda rows: rows[3].update(period=format_period(
        add_months(m, -1)))), "E021", "but this return is for"),
    "period not written as YYYY-MM": (lambda m: changed(m, set_cell(3, "period", "March 2025")), "E021",
                                      "not a month written as YYYY-MM"),
    "province mismatch in the rows": (lambda m: changed(m, set_cell(3, "province_code", "PB")), "E020",
                                      "'province_code' is 'PB' but this return is for Islamabad"),
    "zip bomb": (zip_bomb, "E006", "would expand to"),
    "XML entity bomb in a sheet": (entity_bomb, "E006", "XML constructs that are never in a genuine Excel file"),
    "stray value in the sheet's last cell": (far_away_cell, "E004", "has a value in cell XFD1048576"),
    "sheet cells without positions": (cells_without_positions, "E001", "left out cell positions"),
    "ZIP archive that is not a workbook": (lambda m: xlsx_parts({"data.csv": good_file(BASE, m)}), "E005",
                                           "a ZIP archive, not an Excel .xlsx workbook"),
    "damaged workbook": (lambda m: b"PK\x03\x04" + b"\x00" * 300, "E001", "damaged"),
    "oversized file": (lambda m: good_file(BASE, m) + b"#" * LIMITS.max_file_bytes, "E003",
                       "the largest file accepted is 5.0 MB"),
    "too many rows": (lambda m: good_file(BASE, m) + b"IC,ISB,IC-ISB-001,2025-01\r\n" * LIMITS.max_rows, "E004",
                      "more than 5,000 data rows"),
    "too many columns": (lambda m: changed(m, too_many_columns), "E004", "at most 120 are accepted"),
}

# Cases that need a particular province or month.
SPECIAL = {
    "Punjab workbook without its named sheet": ("PB", None, punjab_two_sheets_wrong_names, "E001",
                                                "no sheet named 'COP Return'"),
    "closed unit": ("PB", dt.date(2024, 10, 1), lambda m: changed(m, lambda rows: rows.append(
        dict(rows[0], unit_code="PB-RWP-006", district_code="RWP")), "PB"), "E033", "closed on 2024-08-31"),
    "future period": ("IC", dt.date(2026, 1, 1), lambda m: good_file("IC", m), "E022", "has not ended yet"),
    "period before the programme": ("IC", dt.date(2014, 12, 1), lambda m: good_file("IC", m), "E022",
                                    "before the programme started (2015-01)"),
}


@pytest.fixture(scope="module")
def earlier_data(intake_database):
    """An accepted month already in the warehouse, which no bad file may disturb."""
    receipt = submit(good_file(BASE, dt.date(2025, 11, 1)), BASE, dt.date(2025, 11, 1))
    assert receipt.status in ("accepted", "duplicate"), receipt.summary
    return receipt


def _assert_rejected_and_nothing_loaded(conn, raw_snapshot, content, province, month, rule, text):
    before = raw_snapshot()
    receipt = submit(content, province, month)
    assert receipt.status == "rejected", receipt.summary
    assert receipt.exit_code == 1
    matching = [p for p in receipt.errors if p.rule == rule]
    assert matching, f"expected {rule}, got {[(p.rule, p.message) for p in receipt.errors]}"
    assert any(text in p.message for p in matching), [p.message for p in matching]
    assert all(p.message.rstrip().endswith(".") and len(p.message) > len(text) for p in matching)
    assert raw_snapshot() == before
    stored = conn.execute("select status, row_count is null or row_count >= 0 from raw.submissions "
                          "where submission_id = %s", (receipt.submission_id,)).fetchone()
    assert stored == ("rejected", True)
    rules = {r for (r,) in conn.execute("select rule from audit.problems where submission_id = %s",
                                        (receipt.submission_id,))}
    assert rule in rules
    assert not conn.execute("select 1 from raw.return_rows where submission_id = %s",
                            (receipt.submission_id,)).fetchone()
    return receipt


@pytest.mark.parametrize("case", list(CASES))
def test_bad_file_is_rejected_with_its_problem(case, conn, fresh_month, raw_snapshot, earlier_data):
    build, rule, text = CASES[case]
    _assert_rejected_and_nothing_loaded(conn, raw_snapshot, build(fresh_month), BASE, fresh_month, rule, text)


@pytest.mark.parametrize("case", list(SPECIAL))
def test_bad_file_for_a_particular_province_or_month(case, conn, fresh_month, raw_snapshot, earlier_data):
    province, month, build, rule, text = SPECIAL[case]
    month = month or fresh_month
    _assert_rejected_and_nothing_loaded(conn, raw_snapshot, build(month), province, month, rule, text)


def test_sql_in_a_header_is_only_ever_text(conn, fresh_month, earlier_data):
    build, _, _ = CASES["header that is SQL"]
    receipt = submit(build(fresh_month), BASE, fresh_month)
    assert conn.execute("select to_regclass('raw.submissions')").fetchone()[0] == "raw.submissions"
    stored = conn.execute("select column_name from audit.problems where submission_id = %s and rule = 'E011'",
                          (receipt.submission_id,)).fetchone()[0]
    assert stored == 'x"; DROP TABLE raw.submissions; --'


def test_problems_name_rows_and_columns_as_the_province_wrote_them(fresh_month, earlier_data):
    # Sindh: Urdu headers, semicolons, BOM. The header is row 1, so the third data row is row 4.
    rows = records(fresh_month, "SD", units=10)
    rows[2]["خواتین افسران"] = rows[2]["تعینات افسران"] + 5
    receipt = submit(encoded(rows, "SD"), "SD", fresh_month)
    problem = next(p for p in receipt.errors if p.rule == "X101")
    assert (problem.row, problem.column, problem.unit_code) == (4, "خواتین افسران", rows[2]["تھانہ کوڈ"])
    assert problem.value == str(rows[2]["خواتین افسران"])
    assert "'خواتین افسران'" in problem.message and "'تعینات افسران'" in problem.message


def test_xlsx_rows_are_the_sheet_rows(fresh_month, earlier_data):
    from cop.fileformats import xlsx_bytes

    rows = records(fresh_month, "AJ", units=6)
    rows[3]["homicide"] = -1
    header = list(rows[0])
    # A blank row under the header: the fourth unit is on sheet row 6.
    content = xlsx_bytes([("Return", header, [[None] * len(header)] + [list(r.values()) for r in rows])])
    receipt = submit(content, "AJ", fresh_month, "aj.xlsx")
    assert [(p.rule, p.row) for p in receipt.errors] == [("E042", 6)]


def test_every_problem_is_reported_not_only_the_first(fresh_month, earlier_data):
    rows = records(fresh_month)
    rows[1]["homicide"] = -1
    rows[2]["burglary"] = "many"
    rows[3]["unit_code"] = "IC-ISB-999"
    rows.append(dict(rows[4]))
    for row in rows:
        row["stray"] = "x"
    receipt = submit(encoded(rows), BASE, fresh_month)
    assert {"E042", "E041", "E030", "E034", "E011"} <= {p.rule for p in receipt.errors}


def test_wrong_encoding_of_urdu_headers_says_how_to_save(fresh_month, earlier_data):
    text = good_file("SD", fresh_month, units=3).decode("utf-8-sig")
    content = text.encode("cp1256", errors="replace")  # Urdu saved as "Arabic (Windows)"
    receipt = submit(content, "SD", fresh_month)
    assert receipt.status == "rejected"
    assert any(p.rule == "E011" and "CSV UTF-8" in p.message for p in receipt.errors) or \
        any(p.rule == "E001" for p in receipt.errors)


def test_file_name_is_never_a_path(conn, fresh_month, earlier_data):
    content = good_file(BASE, fresh_month, units=3)
    receipt = submit(content, BASE, fresh_month, file_name="../../../etc/passwd")
    landed = conn.execute("select landed_path, file_name from raw.submissions where submission_id = %s",
                          (receipt.submission_id,)).fetchone()
    assert landed[1] == "../../../etc/passwd"
    assert landed[0].endswith(f"/landing/{receipt.sha256[:2]}/{receipt.sha256}")
    with open(landed[0], "rb") as handle:
        assert handle.read() == content

