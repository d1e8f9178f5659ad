"""Landing, duplicates, versions, revisions, check-only runs and the files every submission gets."""
from __future__ import annotations

import csv
import datetime as dt

import openpyxl
import pytest

from cop.registry import load_registry
from intake_files import good_file, submit
from loaders.intake import SubmitError, list_submissions, submit_file
from loaders.landing import landed_path
from loaders.sample import encode_return, sample_return

pytestmark = pytest.mark.xdist_group("intake_versions")  # one module, one worker: one database


def values_of(conn, submission_id):
    return conn.execute("select count(*), coalesce(sum(value), 0) from raw.return_values where submission_id = %s",
                        (submission_id,)).fetchone()


@pytest.mark.parametrize("province", ["PB", "SD", "KP", "BA", "IC", "GB", "AJ"])
def test_each_province_file_in_its_own_format_is_accepted_and_loaded(province, conn, fresh_month):
    receipt = submit(good_file(province, fresh_month), province, fresh_month)
    assert receipt.status == "accepted", receipt.summary
    assert receipt.errors == [] and receipt.version == 1
    expected_units = len(load_registry().units_open(province, fresh_month))
    assert receipt.rows == expected_units
    rows = conn.execute("select count(*), count(distinct unit_code), min(period), max(province_code) "
                        "from raw.return_rows where submission_id = %s", (receipt.submission_id,)).fetchone()
    assert rows == (expected_units, expected_units, fresh_month, province)


@pytest.mark.parametrize("variant", ["utf-16 without BOM", "semicolons instead of commas", "tabs",
                                     "headers in other case and spacing", "xlsx", "excel turned the month into a date"])
def test_what_provinces_really_send_is_read(variant, fresh_month):
    rows = sample_return("IC", fresh_month, units=5)
    text = encode_return(rows, "IC").decode("utf-8")
    content = {
        "utf-16 without BOM": lambda: text.encode("utf-16-le"),
        "semicolons instead of commas": lambda: text.replace(",", ";").encode(),
        "tabs": lambda: text.replace(",", "\t").encode("utf-16"),
        "headers in other case and spacing": lambda: text.replace("unit_code", "  Unit_Code ", 1).encode(),
        "xlsx": lambda: encode_return(rows, "IC", file_format="xlsx"),
        "excel turned the month into a date": lambda: _month_as_date(rows),
    }[variant]()
    receipt = submit(content, "IC", fresh_month)
    assert receipt.status == "accepted", receipt.summary
    assert receipt.rows == 5


def test_windows_1252_text_is_decoded(fresh_month):
    rows = [dict(r, **{"Remarqué": "vérifié"}) for r in sample_return("BA", fresh_month, units=3)]
    receipt = submit(encode_return(rows, "BA"), "BA", fresh_month)  # BA's own encoding: cp1252
    assert [(p.rule, p.column) for p in receipt.errors] == [("E011", "Remarqué")]


def _month_as_date(rows):
    dated = [dict(r, period=dt.datetime.strptime(r["period"], "%Y-%m")) for r in rows]
    return encode_return(dated, "IC", file_format="xlsx")


def test_same_bytes_twice_is_one_version(conn, fresh_month):
    content = good_file("GB", fresh_month)
    first = submit(content, "GB", fresh_month, "gb.csv")
    again = submit(content, "GB", fresh_month, "gb (1).csv")
    assert (first.status, again.status) == ("accepted", "duplicate")
    assert again.duplicate_of == first.submission_id and again.version == first.version == 1
    assert again.exit_code == 0
    stored = conn.execute("select version, status from raw.submissions where province_code = 'GB' and period = %s "
                          "order by submission_id", (fresh_month,)).fetchall()
    assert stored == [(1, "accepted"), (None, "duplicate")]
    assert conn.execute("select count(*) from raw.return_rows r join raw.submissions s using (submission_id) "
                        "where s.province_code = 'GB' and s.period = %s", (fresh_month,)).fetchone()[0] == first.rows


def test_a_revision_replaces_the_month_and_keeps_the_old_version(conn, fresh_month):
    first = submit(good_file("GB", fresh_month, seed=1), "GB", fresh_month)
    revised = submit(good_file("GB", fresh_month, seed=2), "GB", fresh_month)
    assert (first.version, revised.version) == (1, 2)
    assert revised.supersedes == first.submission_id
    listed = {row["submission_id"]: row for row in list_submissions(province="GB", period=fresh_month)}
    assert listed[revised.submission_id]["is_current"] and not listed[first.submission_id]["is_current"]
    assert values_of(conn, first.submission_id)[0] > 0  # the old version stays queryable
    assert values_of(conn, first.submission_id) != values_of(conn, revised.submission_id)


def test_a_rejected_revision_leaves_the_accepted_version_current(conn, fresh_month):
    good = submit(good_file("GB", fresh_month), "GB", fresh_month)
    rows = sample_return("GB", fresh_month)
    rows[0]["homicide"] = -5
    bad = submit(encode_return(rows, "GB"), "GB", fresh_month)
    assert (good.status, bad.status, bad.version) == ("accepted", "rejected", 2)
    current = [r for r in list_submissions("GB", fresh_month) if r["is_current"]]
    assert [r["submission_id"] for r in current] == [good.submission_id]
    assert values_of(conn, bad.submission_id) == (0, 0)


def test_sending_an_older_file_again_is_a_revision_back_to_it(fresh_month):
    a, b = good_file("GB", fresh_month, seed=1), good_file("GB", fresh_month, seed=2)
    versions = [submit(content, "GB", fresh_month) for content in (a, b, a)]
    assert [(r.status, r.version) for r in versions] == [("accepted", 1), ("accepted", 2), ("accepted", 3)]


def test_landed_bytes_are_kept_exactly_and_read_only(fresh_month):
    content = good_file("GB", fresh_month)
    receipt = submit(content, "GB", fresh_month)
    path = landed_path(receipt.sha256)
    assert path.read_bytes() == content
    assert not path.stat().st_mode & 0o222


def test_check_only_judges_but_saves_nothing(conn, fresh_month, raw_snapshot):
    before = (raw_snapshot(), conn.execute("select count(*) from raw.submissions").fetchone())
    content = good_file("GB", fresh_month, seed=99)
    receipt = submit(content, "GB", fresh_month, dry_run=True)
    assert receipt.status == "accepted" and receipt.dry_run and receipt.submission_id is None
    assert receipt.report_html.exists() and receipt.problems_csv.exists() and receipt.problems_xlsx.exists()
    assert (raw_snapshot(), conn.execute("select count(*) from raw.submissions").fetchone()) == before
    assert not landed_path(receipt.sha256).exists()


def test_every_submission_gets_problem_files_and_a_report_with_nothing_executable(fresh_month):
    rows = sample_return("IC", fresh_month, units=4)
    for row in rows:
        row['=HYPERLINK("http://evil.example","click")'] = 1
        row["<script>alert(1)</script>"] = 2
    rows[1]["unit_code"] = "@SUM(1+1)"
    receipt = submit(encode_return(rows, "IC"), "IC", fresh_month)
    assert receipt.status == "rejected"
    with receipt.problems_csv.open(encoding="utf-8-sig", newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert "'=HYPERLINK(\"http://evil.example\",\"click\")" in cells and "'@SUM(1+1)" in cells
    sheet = openpyxl.load_workbook(receipt.problems_xlsx)["Problems"]
    values = [c.value for row in sheet.iter_rows() for c in row if c.value is not None]
    assert all(not str(v).startswith(("=", "+", "-", "@")) for v in values)
    assert all(sheet_cell.data_type != "f" for row in sheet.iter_rows() for sheet_cell in row)
    html = receipt.report_html.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert 'href="problems.csv"' in html and "Great Expectations" in html


def test_receipt_json_has_what_the_province_needs(fresh_month):
    rows = sample_return("KP", fresh_month, units=5)
    rows[1]["DRC Referrals"] = "lots"
    receipt = submit(encode_return(rows, "KP"), "KP", fresh_month).to_dict()
    for key in ("submission_id", "status", "province", "period", "version", "rows", "errors", "warnings"):
        assert key in receipt
    error = receipt["errors"][0]
    assert {k: error[k] for k in ("row", "column", "value", "rule")} == {
        "row": 3, "column": "DRC Referrals", "value": "lots", "rule": "E041"}
    assert "Write a plain number" in error["message"]


def test_usage_errors_are_not_verdicts(fresh_month):
    with pytest.raises(SubmitError, match="unknown province 'XX'"):
        submit_file(b"x", "x.csv", "XX", fresh_month, "tests")
    with pytest.raises(SubmitError, match="YYYY-MM"):
        submit_file(b"x", "x.csv", "IC", "2025/03", "tests")
