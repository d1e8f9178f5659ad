"""The rankings and the annual report on a real warehouse (conftest.report_warehouse): the score
marts, a rerun with the same seed, the PDF's sections and pages, three figures recomputed from
the marts, and the spreadsheet exports."""
from __future__ import annotations

import csv
import re
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest
from openpyxl import load_workbook

from publishing.annual import safe_cell, write_annual_report
from publishing.rankings import refresh_rankings

pytestmark = pytest.mark.slow
SECTIONS = ["Executive summary", "National trends", "Province: Islamabad Capital Territory", "Province: Punjab",
            "Achievements", "Challenges", "Gaps in reporting", "Completeness and timeliness",
            "Rankings and awards", "Street crime: funnel plot", "Appendix A: Data quality",
            "Appendix B: Methodology"]


@pytest.fixture(scope="module")
def ranked(report_warehouse):
    return refresh_rankings(year=2025, draws=300)


@pytest.fixture(scope="module")
def report(ranked, tmp_path_factory) -> dict[str, Path]:
    return write_annual_report(year=None, out_dir=tmp_path_factory.mktemp("report"))


def _ranks(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("select unit_code, median_rank, rank_low, rank_high, national_award, seed "
                            "from marts.rpt_unit_rankings where year = 2025 order by unit_code").fetchall()


def test_rankings_are_in_the_marts_with_their_seed(report_warehouse, ranked):
    with psycopg.connect(report_warehouse) as conn:
        counts = dict(conn.execute("select is_ranked, count(*) from marts.rpt_unit_rankings "
                                   "where year = 2025 group by 1").fetchall())
        reasons = [r[0] for r in conn.execute(
            "select not_ranked_reason from marts.rpt_unit_rankings where year = 2025 and unit_code in "
            "(select unit_code from marts.rpt_unit_reporting_year where year = 2025 and months_reported = 9)")]
        seeds = {r[0] for r in conn.execute("select distinct seed from marts.rpt_unit_rankings")}
        scores = conn.execute("select count(*) from marts.rpt_unit_scores where year = 2025").fetchone()[0]
        awards = conn.execute("select count(*) from marts.rpt_awards where year = 2025").fetchone()[0]
    assert counts[True] == ranked.units_ranked and counts[True] + counts[False] == ranked.units_expected
    assert reasons and all("reported 9 of 12 months" in r for r in reasons)
    assert seeds == {ranked.seed} and scores > 0 and awards == ranked.awards


def test_a_rerun_with_the_same_seed_gives_the_same_ranks(report_warehouse, ranked):
    before = _ranks(report_warehouse)
    again = refresh_rankings(year=2025, draws=300)
    assert again.run_id != ranked.run_id
    assert _ranks(report_warehouse) == before


def test_the_pdf_has_every_section_on_pages_that_are_not_blank(report, tmp_path):
    pdf = report["annual report (PDF)"]
    assert shutil.which("pdftoppm"), "install poppler-utils (scripts/system-deps.sh)"
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 10
    from PIL import Image

    for page in pages:
        extrema = Image.open(page).convert("L").getextrema()
        assert extrema[0] < 200, f"{page.name} is blank"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    missing = [section for section in SECTIONS if section not in text]
    assert not missing, f"sections missing from the PDF: {missing}"
    html = report["annual report (HTML)"].read_text()
    assert html.count("data:image/png;base64,") >= 8 and 'src="http' not in html   # self-contained


def _figure(html: str, name: str) -> str:
    return re.search(rf'data-figure="{name}">([^<]+)<', html).group(1)


def test_three_figures_of_the_report_equal_the_marts(report, report_warehouse):
    html = report["annual report (HTML)"].read_text()
    with psycopg.connect(report_warehouse) as conn:
        reporting_rate = conn.execute(
            "select sum(units_reported)::numeric / sum(units_expected) from marts.rpt_reporting_completeness "
            "where extract(year from month) = 2025").fetchone()[0]
        units_ranked = conn.execute("select count(*) from marts.rpt_unit_rankings "
                                    "where year = 2025 and is_ranked").fetchone()[0]
        rejected = conn.execute("select count(*) from marts.rpt_submission_history where status = 'rejected' "
                                "and extract(year from month) = 2025").fetchone()[0]
        top = conn.execute("select unit_code, rank_label from marts.rpt_awards where year = 2025 "
                           "and award_scope = 'national' order by median_rank, unit_code limit 1").fetchone()
    assert _figure(html, "reporting_rate") == f"{float(reporting_rate) * 100:.1f}%"
    assert _figure(html, "units_ranked") == str(units_ranked)
    assert _figure(html, "rejected_returns") == str(rejected) == "1"
    if top:
        assert re.search(rf'data-award-unit="{top[0]}">{re.escape(top[1])}<', html)


def test_rankings_exports_hold_every_unit_and_no_formula(report, ranked):
    with report["rankings (CSV)"].open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == ranked.units_expected
    assert sum(row["is_ranked"] == "True" for row in rows) == ranked.units_ranked
    sheet = load_workbook(report["rankings (XLSX)"]).active
    assert sheet.max_row == ranked.units_expected + 1
    cells = [cell.value for row in sheet.iter_rows() for cell in row if isinstance(cell.value, str)]
    assert not any(value.startswith(("=", "+", "-", "@")) for value in cells)


@pytest.mark.parametrize("text, safe", [("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+1", "'+1"), ("-2", "'-2"),
                                        ("@SUM(A1)", "'@SUM(A1)"), ("PS Kohsar", "PS Kohsar"), (12, 12)])
def test_cells_a_spreadsheet_would_run_are_escaped(text, safe):
    assert safe_cell(text) == safe
