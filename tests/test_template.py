"""Templates carry the province's amendment, and a filled template is a valid return."""
from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess
import sys

import openpyxl

from cop.registry import load_registry
from cop.spec import load_amendment, load_form
from cop.template import INSTRUCTIONS_SHEET, template_bytes


def test_csv_template_has_the_provinces_headers_in_its_own_encoding():
    content = template_bytes("SD", "csv")
    header = next(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert header == [c.header for c in load_amendment("SD").columns(load_form())]
    assert "کھلی کچہری" in header


def test_xlsx_template_explains_every_column_and_guards_counts():
    workbook = openpyxl.load_workbook(io.BytesIO(template_bytes("PB", "xlsx")))
    assert workbook.sheetnames == ["COP Return", INSTRUCTIONS_SHEET]
    sheet = workbook["COP Return"]
    header = [c.value for c in sheet[1]]
    assert header[-2:] == ["pb_khidmat_markaz_services", "pb_dolphin_patrol_hours"]
    assert all(c.comment is not None for c in sheet[1])
    assert len(sheet.data_validations.dataValidation) == len(header) - 4
    instructions = workbook[INSTRUCTIONS_SHEET]
    assert instructions.max_row == len(header) + 1


def test_prefilled_template_lists_the_units_open_that_month():
    month = dt.date(2025, 1, 1)
    workbook = openpyxl.load_workbook(io.BytesIO(template_bytes("PB", "xlsx", month)))
    rows = list(workbook["COP Return"].iter_rows(min_row=2, values_only=True))
    expected = load_registry().units_open("PB", month)
    assert [r[2] for r in rows] == [u.unit_code for u in expected]
    assert ("PB", "KTA", "PB-MZG-020", "2025-01") in {r[:4] for r in rows}, "a moved unit carries its new district"


def test_cli_writes_templates(tmp_path):
    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"kp.{fmt}"
        subprocess.run([sys.executable, "-m", "hub.cli", "template", "--province", "kp", "--format", fmt,
                        "--out", str(out)], check=True, capture_output=True)
        assert out.stat().st_size > 0
    bad = subprocess.run([sys.executable, "-m", "hub.cli", "template", "--province", "XX", "--format", "csv",
                          "--out", str(tmp_path / "x.csv")], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown province 'XX'" in bad.stderr


def test_cop_template_gives_each_month_the_form_version_in_force(tmp_path):
    headers = {}
    for period in ("2024-12", "2025-01"):
        out = tmp_path / f"sd-{period}.xlsx"
        done = subprocess.run([sys.executable, "-m", "hub.cli", "template", "--province", "SD", "--format", "xlsx",
                               "--out", str(out), "--period", period], check=True, capture_output=True, text=True)
        assert f"(form v{1 if period == '2024-12' else 2})" in done.stderr   # cop prints to stderr
        workbook = openpyxl.load_workbook(out)
        headers[period] = [c.value for c in workbook.worksheets[0][1]]
        if period == "2025-01":
            sheet = workbook.worksheets[0]
            story = headers[period].index("کامیابی کی کہانی") + 1
            lengths = [v for v in sheet.data_validations.dataValidation if v.type == "textLength"]
            assert any(v.formula1 == "1500" and sheet.cell(1, story).column_letter in str(v.sqref) for v in lengths)
    v2 = [c.header for c in load_amendment("SD").columns(load_form().in_version(2))]
    assert headers["2025-01"] == v2 and "انسداد انتہا پسندی سرگرمیاں" in v2     # Urdu header of cve_activities
    assert headers["2024-12"] == [c.header for c in load_amendment("SD").columns(load_form().in_version(1))]
    assert len(headers["2025-01"]) - len(headers["2024-12"]) == 17
