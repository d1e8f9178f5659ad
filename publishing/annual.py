"""The annual COP report: a self-contained HTML file, its PDF (WeasyPrint), and the rankings as CSV
and XLSX with a data dictionary. The report is a typed model (publishing.annual_model) built from the
marts only (the exposure `annual_report`), so BI tools and the report show the same numbers; the rankings
must have been refreshed (publishing.rankings) first."""
from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from cop import db
from cop.security import TRANSFORM_ROLE
from publishing import charts
from publishing.annex import build_annex
from publishing.annual_model import AnnualReport, build_model
from publishing.config import load_scoring
from publishing.rankings import latest_complete_year
from publishing.source import ReleaseSource, read_current, read_release

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
TEXT_FROM_FILES = {"unit_name", "district_name", "not_ranked_reason"}   # the only cells a spreadsheet could run


# ---------------------------------------------------------------- the rankings export and its dictionary


@dataclasses.dataclass(frozen=True)
class ExportColumn:
    name: str
    source: str            # the rpt_unit_rankings column
    kind: str              # integer | number | text | boolean
    description: str
    digits: int | None = None


def export_columns(config) -> list[ExportColumn]:
    """The rankings export, column by column; pillar columns come from spec/scoring.yaml."""
    pillars = [ExportColumn(f"{p.name}_score", f"{p.name}_score", "number",
                            f"{p.label} pillar score (50 = typical of the peer group; 10 = one peer standard deviation)", 1)
               for p in config.pillars]
    return [
        ExportColumn("year", "year", "integer", "Calendar year scored"),
        ExportColumn("national_rank", "national_rank", "integer",
                     "Published national rank, by index_score as printed (1 = best); stations with the same score share it"),
        ExportColumn("national_rank_tied", "is_tied", "boolean", "true when other stations share this national rank"),
        ExportColumn("rank_interval_low", "rank_low", "integer", "Best plausible national rank (5th percentile of the Monte Carlo draws)"),
        ExportColumn("rank_interval_high", "rank_high", "integer", "Worst plausible national rank (95th percentile of the draws)"),
        ExportColumn("median_rank", "median_rank", "integer", "Median national rank over the draws"),
        ExportColumn("province_rank", "province_rank", "integer", "Published rank within the province, by index_score (ties shared)"),
        ExportColumn("province_rank_interval_low", "province_rank_low", "integer", "Best plausible rank in the province"),
        ExportColumn("province_rank_interval_high", "province_rank_high", "integer", "Worst plausible rank in the province"),
        ExportColumn("unit_code", "unit_code", "text", "Police station code (federal registry)"),
        ExportColumn("unit_name", "unit_name", "text", "Police station name (federal registry)"),
        ExportColumn("province_code", "province_code", "text", "Province code"),
        ExportColumn("district_name", "district_name", "text", "District"),
        ExportColumn("urban_rural", "urban_rural", "text", "urban or rural (federal registry)"),
        ExportColumn("population", "population", "integer", "Population served (federal registry, last month of the year)"),
        ExportColumn("peer_group", "peer_group", "text", "Peer group the station is compared with: urban/rural and size band"),
        ExportColumn("index_score", "index_score", "number", "COP performance index: 50 + 10 x the weighted mean of the pillars", 1),
        *pillars,
        ExportColumn("national_award", "national_award", "boolean", "National award given"),
        ExportColumn("province_award", "province_award", "boolean", "Provincial award given"),
        ExportColumn("months_expected", "months_expected", "integer", "Months the station was expected to report"),
        ExportColumn("months_reported", "months_reported", "integer", "Months with an accepted return"),
        ExportColumn("is_ranked", "is_ranked", "boolean", "Ranked (enough months and every pillar with data)"),
        ExportColumn("not_ranked_reason", "not_ranked_reason", "text", "Why the station is not ranked"),
        ExportColumn("seed", "seed", "integer", "Random seed of the Monte Carlo draws (reproduces the intervals)"),
        ExportColumn("draws", "draws", "integer", "Number of Monte Carlo draws"),
        ExportColumn("config_sha256", "config_sha256", "text", "sha256 of spec/scoring.yaml as used"),
        ExportColumn("release", "release", "text", "Published release the figures come from (empty: a draft)"),
        ExportColumn("cut_off", "cut_off", "text", "Cut-off of the release (UTC, ISO 8601)"),
    ]


def safe_cell(value):
    """A text cell a spreadsheet would read as a formula (= + - @, tab, CR) gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _cell(value, column: ExportColumn):
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    if column.kind == "integer":
        return int(value)
    if column.kind == "number":
        return round(float(value), column.digits)
    if column.kind == "boolean":
        return bool(value)
    return safe_cell(value) if column.name in TEXT_FROM_FILES else str(value)


def _export_rows(rankings: pd.DataFrame, columns: list[ExportColumn]) -> list[list]:
    ordered = rankings.sort_values(["is_ranked", "national_rank", "point_rank", "unit_code"],
                                   ascending=[False, True, True, True], na_position="last")
    return [[_cell(row[c.source], c) for c in columns] for _, row in ordered.iterrows()]


def write_rankings_csv(rankings: pd.DataFrame, path: Path, columns: list[ExportColumn]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([c.name for c in columns])
        writer.writerows(["" if v is None else ("true" if v is True else "false" if v is False else v)
                          for v in row] for row in _export_rows(rankings, columns))
    return path


def write_dictionary_csv(path: Path, columns: list[ExportColumn]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["column", "type", "decimals", "description"])
        writer.writerows([c.name, c.kind, "" if c.digits is None else c.digits, c.description] for c in columns)
    return path


def write_rankings_xlsx(rankings: pd.DataFrame, path: Path, year: int, columns: list[ExportColumn]) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = f"Rankings {year}"
    sheet.append([c.name for c in columns])
    for row in _export_rows(rankings, columns):
        sheet.append(row)
    for index, column in enumerate(columns, start=1):
        if column.kind == "number":
            for cell in sheet.iter_cols(min_col=index, max_col=index, min_row=2):
                for item in cell:
                    item.number_format = "0." + "0" * column.digits
    dictionary = workbook.create_sheet("Data dictionary")
    dictionary.append(["column", "type", "decimals", "description"])
    for column in columns:
        dictionary.append([column.name, column.kind, column.digits, column.description])
    for each in (sheet, dictionary):
        for cell in each[1]:
            cell.font = Font(bold=True)
        each.freeze_panes = "A2"
    dictionary.column_dimensions["A"].width = 30
    dictionary.column_dimensions["D"].width = 100
    workbook.save(path)
    return path


# ---------------------------------------------------------------- rendering


def _environment() -> Environment:
    environment = Environment(loader=PackageLoader("publishing", "templates"),
                              autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    environment.filters.update(pct=_pct, num=_num, points=_points)
    return environment


def _pct(value, digits: int = 1) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value * 100:.{digits}f}%"


def _points(value, digits: int = 1) -> str:
    """A change of shares, already in percentage points."""
    return "n/a" if value is None or pd.isna(value) else f"{value:+.{digits}f} pp"


def _num(value, digits: int = 0) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:,.{digits}f}"


def draw_charts(report: AnnualReport) -> None:
    """Every chart of the report, onto the model (PNG data URIs)."""
    config, year = report.config, report.year
    for code in config.trend_charts:
        indicator = config.indicator(code)
        series = report.monthly[report.monthly["indicator_code"] == code]
        unit = "%" if indicator.is_share else ("per 100,000 a year" if indicator.per == "population" else "per month")
        report.charts[f"trend:{code}"] = charts.year_over_year(series, indicator.label, unit, year,
                                                               percent=indicator.is_share)
    report.charts["reporting"] = charts.reporting_by_province(report.completeness, report.names)
    report.charts["intervals"] = charts.rank_intervals(report.ranked.head(40), f"The 40 best-placed stations of {year}")
    funnel = config.indicator(config.funnel)
    report.charts["funnel"] = charts.funnel_plot(report.funnel, f"{funnel.label}, {year}, by peer group",
                                                 funnel.label.replace(" a year", "\na year"))
    report.charts["correlation"] = charts.correlation_heatmap(
        report.annex.correlation, {i.code: i.label for i in config.indicators},
        f"Correlation between the index's indicators (peer-group z-scores, {report.annex.stations} ranked stations)")
    for page in report.provinces:
        page.reporting_chart = charts.province_reporting(
            report.completeness[report.completeness["province_code"] == page.code],
            f"{page.name}: stations reporting each month, {year}")
        if any(c.improved is not None for c in page.changes):
            page.changes_chart = charts.indicator_changes(page.changes, f"{page.name}: {year} against {year - 1}")


def build_report(conn, year: int, config, release: ReleaseSource | None = None) -> AnnualReport:
    """The whole report from the marts the connection reads (current, or a release's): model, annex, charts."""
    report = build_model(conn, year, config, release)
    report.rankings = report.rankings.assign(release=release.label if release else None,
                                             cut_off=release.cut_off.isoformat() if release else None)
    report.annex = build_annex(report.unit_scores, report.rankings, report.sensitivity, report.awards, config)
    draw_charts(report)
    return report


def render_html(report: AnnualReport) -> str:
    fields = {f.name: getattr(report, f.name) for f in dataclasses.fields(report)}
    return _environment().get_template("annual.html").render(report=report, **fields)


def pdf_document(html: str):
    """WeasyPrint's document for `html`, without its page-by-page progress log (a hundred lines per report
    when a library has set the root logger to INFO)."""
    import logging

    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # before the import: it parses CSS
    from weasyprint import HTML

    return HTML(string=html)


def write_pdf(html: str, path: Path) -> Path:
    pdf_document(html).write_pdf(path)
    return path


def write_annual_report(year: int | None, out_dir: Path, release: ReleaseSource | None = None) -> dict[str, Path]:
    """Write the annual report (HTML and PDF) and the rankings (CSV and XLSX, and the data dictionary) for
    `year` (None: the latest complete year) into out_dir, from the current marts, or from a published release
    (its year, its frozen figures, its id and cut-off on every page and in every file). Returns {label: path}."""
    config = load_scoring()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with db.connect_as(TRANSFORM_ROLE) as conn:
        year = release.year if release else latest_complete_year(conn) if year is None else year
        read_release(conn, release) if release else read_current(conn)
        report = build_report(conn, year, config, release)
    html = render_html(report)
    stem = out_dir / f"cop-annual-report-{year}"
    html_path = stem.with_suffix(".html")
    html_path.write_text(html, encoding="utf-8")
    columns = export_columns(config)
    return {"annual report (HTML)": html_path,
            "annual report (PDF)": write_pdf(html, stem.with_suffix(".pdf")),
            "rankings (CSV)": write_rankings_csv(report.rankings, out_dir / f"cop-rankings-{year}.csv", columns),
            "rankings data dictionary (CSV)": write_dictionary_csv(out_dir / f"cop-rankings-{year}-dictionary.csv",
                                                                   columns),
            "rankings (XLSX)": write_rankings_xlsx(report.rankings, out_dir / f"cop-rankings-{year}.xlsx", year, columns)}
