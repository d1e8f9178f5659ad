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

from cop.paths import DBT_PROJECT_DIR, REPO_ROOT
from openpyxl import load_workbook

from publishing.annual import safe_cell, write_annual_report
from publishing.rankings import refresh_rankings

pytestmark = pytest.mark.slow
SECTIONS = ["Contents", "Executive summary", "National trends", "Province: Islamabad Capital Territory",
            "Province: Punjab", "Achievements", "Challenges", "Rankings and awards",
            "Awards held back by the integrity screen", "Recorded street crime: funnel plot",
            "Appendix A: Data quality", "Appendix B: Statistical annex", "Correlations between the indicators",
            "Sensitivity of the ranks", "Stability of each award", "Appendix C: Methodology"]


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
        top = conn.execute("select unit_code, rank_label from marts.rpt_awards where year = 2025 and status = 'awarded' "
                           "and award_scope = 'national' order by rank, unit_code limit 1").fetchone()
    assert _figure(html, "reporting_rate") == f"{float(reporting_rate) * 100:.1f}%"
    assert _figure(html, "units_ranked") == str(units_ranked)
    assert _figure(html, "rejected_returns") == str(rejected) == "1"
    if top:
        assert re.search(rf'data-award-unit="{top[0]}">{re.escape(top[1])}<', html)


def test_rankings_exports_hold_every_unit_as_numbers_with_a_dictionary(report, ranked):
    with report["rankings (CSV)"].open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == ranked.units_expected
    assert sum(row["is_ranked"] == "true" for row in rows) == ranked.units_ranked
    text = report["rankings (CSV)"].read_text()
    assert "'" not in text.replace("'s", "")                       # no formula-escape quotes on our own figures
    scores = [row["index_score"] for row in rows if row["index_score"]]
    assert all(re.fullmatch(r"\d+\.\d", score) for score in scores)   # one decimal, as published
    ranks = [int(row["national_rank"]) for row in rows if row["national_rank"]]
    assert ranks == sorted(ranks)
    with report["rankings data dictionary (CSV)"].open(newline="", encoding="utf-8") as handle:
        dictionary = {row["column"]: row for row in csv.DictReader(handle)}
    assert list(dictionary) == list(rows[0]) and all(row["description"] for row in dictionary.values())
    workbook = load_workbook(report["rankings (XLSX)"])
    sheet = workbook.worksheets[0]
    assert sheet.max_row == ranked.units_expected + 1 and workbook.sheetnames[1] == "Data dictionary"
    header = [cell.value for cell in sheet[1]]
    first = {name: cell.value for name, cell in zip(header, sheet[2])}
    assert isinstance(first["national_rank"], int) and isinstance(first["index_score"], float)
    cells = [cell.value for row in sheet.iter_rows() for cell in row if isinstance(cell.value, str)]
    assert not any(value.startswith(("=", "+", "-", "@")) for value in cells)


def test_every_published_rank_agrees_with_the_score_order(report_warehouse, ranked):
    """Nationally and in every province: a higher published score never ranks below a lower one, equal
    published scores share the rank (and are marked), and the interval is beside it."""
    with psycopg.connect(report_warehouse) as conn:
        rows = conn.execute("select province_code, round(index_score, 1), national_rank, rank_label, province_rank, "
                            "province_rank_label, rank_low, rank_high from marts.rpt_unit_rankings "
                            "where year = 2025 and is_ranked order by index_score desc").fetchall()
    assert rows
    for scope, rank_at, label_at, key in (("national", 2, 3, lambda r: "PK"), ("province", 4, 5, lambda r: r[0])):
        by_field: dict[str, list] = {}
        for row in rows:
            by_field.setdefault(key(row), []).append(row)
        for field_rows in by_field.values():
            for position, row in enumerate(field_rows):
                better = sum(1 for other in field_rows if other[1] > row[1])
                tied = sum(1 for other in field_rows if other[1] == row[1]) > 1
                assert row[rank_at] == better + 1, (scope, row)
                assert row[label_at] == ("=" if tied else "") + str(row[rank_at]), (scope, row)


def test_the_award_rule_holds_in_every_province_and_winners_pass_the_integrity_screen(report_warehouse, ranked):
    from publishing.config import load_scoring

    config = load_scoring()
    with psycopg.connect(report_warehouse) as conn:
        units = conn.execute("""
            select r.unit_code, r.province_code, r.rank_high, r.province_rank_high, r.national_award, r.province_award,
                   exists (select from marts.rpt_integrity_flags_unit_year f
                           where f.unit_code = r.unit_code and f.year = r.year and f.is_serious)
            from marts.rpt_unit_rankings r where r.year = 2025 and r.is_ranked""").fetchall()
        awards = conn.execute("select award_scope, unit_code, status, withheld_reason from marts.rpt_awards "
                              "where year = 2025").fetchall()
    fields: dict[str, int] = {}
    for unit in units:
        fields[unit[1]] = fields.get(unit[1], 0) + 1
    assert len(fields) == 3
    national_cut_off = config.awards["national"].cut_off(len(units))
    for code, province, high, province_high, national, provincial, serious in units:
        province_cut_off = config.awards["province"].cut_off(fields[province])
        assert provincial == (province_high <= province_cut_off and not serious), code
        assert national == (high <= national_cut_off and not serious), code
    by_unit = {(scope, unit): (status, reason) for scope, unit, status, reason in awards}
    for code, province, high, province_high, national, provincial, serious in units:
        if province_high <= config.awards["province"].cut_off(fields[province]):
            status, reason = by_unit[("province", code)]
            assert status == ("withheld" if serious else "awarded") and (reason is not None) == serious


def test_a_withheld_award_is_in_the_report_with_its_evidence(report_warehouse, ranked, tmp_path):
    """Plant a serious flag on a provincial winner's year: the next run holds the award back and the
    report prints the evidence."""
    with psycopg.connect(report_warehouse) as conn:
        winner = conn.execute("select unit_code from marts.rpt_awards where year = 2025 and award_scope = 'province' "
                              "and status = 'awarded' order by unit_code limit 1").fetchone()
    assert winner, "the test warehouse has a provincial award winner"
    with psycopg.connect(report_warehouse, autocommit=True) as conn:
        conn.execute("create table marts.rpt_integrity_flags_unit_year_kept as "
                     "select * from marts.rpt_integrity_flags_unit_year")
        try:
            conn.execute("insert into marts.rpt_integrity_flags_unit_year (province_code, unit_code, year, flag, "
                         "months_flagged, first_month, last_month, is_serious, evidence) select province_code, "
                         "unit_code, 2025, 'fir_collapse', 1, '2025-05-01', '2025-05-01', true, "
                         "'2025-05: FIRs 3 against a median of 30 while complaints held at 41' "
                         "from marts.dim_unit where unit_code = %s limit 1", winner)
            refresh_rankings(year=2025, draws=300)
            paths = write_annual_report(year=2025, out_dir=tmp_path)
        finally:
            conn.execute("delete from marts.rpt_integrity_flags_unit_year")
            conn.execute("insert into marts.rpt_integrity_flags_unit_year select * from marts.rpt_integrity_flags_unit_year_kept")
            conn.execute("drop table marts.rpt_integrity_flags_unit_year_kept")
            refresh_rankings(year=2025, draws=300)
    html = paths["annual report (HTML)"].read_text()
    assert f'data-withheld-unit="{winner[0]}"' in html and "FIRs 3 against a median of 30" in html


def test_every_province_page_has_an_achievement_and_a_challenge_from_the_data(report):
    html = report["annual report (HTML)"].read_text()
    pages = [(code, page) for code, page in
             re.findall(r'<section class="page province" id="province-(\w+)">(.*?)</section>', html, re.S)
             if code in ("IC", "GB", "AJ")]          # the provinces of the test warehouse
    assert len(pages) == 3
    for code, page in pages:
        achievements = re.search(r'findings up">(.*?)</ul>', page, re.S).group(1)
        challenges = re.search(r'findings down">(.*?)</ul>', page, re.S).group(1)
        assert "data-source" in achievements and "data-source" in challenges, code
    gb = dict(pages)["GB"]
    assert "Rejected and never resubmitted" in gb or "files rejected" in gb   # GB's rejected March file
    assert "percentage points" in html and not re.search(r"share[^<]*\([+-]\d+\.\d%\)", html)


def test_the_report_reads_every_mart_its_exposure_lists_and_a_release_freezes():
    import yaml

    from publishing.source import REPORT_TABLES

    exposures = yaml.safe_load((DBT_PROJECT_DIR / "models/marts/_exposures.yml").read_text())["exposures"]
    report = next(e for e in exposures if e["name"] == "annual_report")
    listed = {ref.removeprefix("ref('").removesuffix("')") for ref in report["depends_on"]}
    assert listed == set(REPORT_TABLES)
    code = "".join((REPO_ROOT / "publishing" / name).read_text()
                   for name in ("annual_model.py", "annual.py", "field_stories.py", "rankings.py"))
    read = set(re.findall(r"\b((?:rpt|dim|fct)_\w+)\b", code))
    assert read == listed


@pytest.mark.parametrize("text, safe", [("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+1", "'+1"), ("-2", "'-2"),
                                        ("@SUM(A1)", "'@SUM(A1)"), ("PS Kohsar", "PS Kohsar"), (12, 12)])
def test_cells_a_spreadsheet_would_run_are_escaped(text, safe):
    assert safe_cell(text) == safe
