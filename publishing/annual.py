"""The annual COP report: a self-contained HTML file, its PDF (WeasyPrint), and the rankings as CSV
and XLSX. Every figure is read from the marts (the exposure `annual_report`), so BI tools and the
report show the same numbers; the rankings must have been refreshed (publishing.rankings) first."""
from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
from jinja2 import Environment, PackageLoader, select_autoescape

from cop import db
from cop.security import TRANSFORM_ROLE
from cop.spec import load_form
from publishing import charts
from publishing.config import Indicator, ScoringConfig, load_scoring
from publishing.field_stories import field_section
from publishing.rankings import RankingError, latest_complete_year, unit_months
from publishing.scoring import annual_evidence
from publishing.source import ReleaseSource, read_current, read_release

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MONTHLY_INDICATORS = ["meetings_per_100k", "satisfaction_rate", "complaint_resolution_rate"]
RANKING_EXPORT_COLUMNS = [
    "year", "rank_label", "median_rank", "rank_low", "rank_high", "unit_code", "unit_name", "province_code",
    "district_name", "urban_rural", "population", "peer_group", "index_score", "partnership_score",
    "problem_solving_score", "organisational_transformation_score", "outcomes_score", "province_rank_label",
    "province_rank_low", "province_rank_high", "national_award", "province_award", "months_expected",
    "months_reported", "is_ranked", "not_ranked_reason", "seed", "draws", "config_sha256", "release", "cut_off"]


# ---------------------------------------------------------------- reading the marts


def _frame(conn: psycopg.Connection, query: str, params=()) -> pd.DataFrame:
    cursor = conn.execute(query, params)
    frame = pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])
    for column in frame.columns:
        if frame[column].map(lambda v: type(v).__name__ == "Decimal").any():
            frame[column] = pd.to_numeric(frame[column]).astype(float)
    return frame


def _completeness(conn, year: int) -> pd.DataFrame:
    frame = _frame(conn, """
        select province_code, month, units_expected, units_reported, units_missing, units_on_time, units_late
        from rpt_reporting_completeness
        where month >= make_date(%s - 1, 1, 1) and month < make_date(%s + 1, 1, 1)""", (year, year))
    frame["month"] = pd.to_datetime(frame["month"])
    frame["year"] = frame["month"].dt.year
    return frame


def _submissions(conn, year: int) -> pd.DataFrame:
    return _frame(conn, """
        select submission_id, province_code, month, status, received_by_due_date, revision_number, error_count
        from rpt_submission_history
        where month >= make_date(%s, 1, 1) and month < make_date(%s + 1, 1, 1)""", (year, year))


def _rejection_rules(conn, year: int) -> pd.DataFrame:
    return _frame(conn, """
        select c.province_code, c.rule, count(distinct c.submission_id)::int as submissions,
               sum(c.problem_count)::int as problems
        from rpt_submission_rule_counts as c
        inner join rpt_submission_history as h on h.submission_id = c.submission_id
        where h.status = 'rejected' and c.severity = 'error'
          and c.month >= make_date(%s, 1, 1) and c.month < make_date(%s + 1, 1, 1)
        group by c.province_code, c.rule order by submissions desc, problems desc""", (year, year))


def _rankings(conn, year: int) -> pd.DataFrame:
    frame = _frame(conn, "select * from rpt_unit_rankings where year = %s "
                         "order by is_ranked desc, median_rank, point_rank, unit_code", (year,))
    ranks = [c for c in frame.columns if c.endswith(("_rank", "rank_low", "rank_high"))]
    frame[ranks] = frame[ranks].astype("Int64")   # unranked units have none: not floats
    return frame


def _awards(conn, year: int) -> pd.DataFrame:
    return _frame(conn, "select * from rpt_awards where year = %s order by award_scope, "
                        "case when award_scope = 'province' then province_code end, median_rank, unit_code", (year,))


def _indicator_scores(conn, year: int) -> pd.DataFrame:
    return _frame(conn, "select unit_code, province_code, indicator_code, weight_on_own_data "
                        "from rpt_unit_scores where year = %s", (year,))


# ---------------------------------------------------------------- the figures


def aggregate_level(months: pd.DataFrame, indicator: Indicator, by: list[str]) -> pd.Series:
    """The indicator over groups of unit-months (a province, a district, a month): sum of the
    numerators / sum of the exposures, from the months reported with the inputs known (never a
    missing month as zero)."""
    evidence = annual_evidence(months, indicator, keys=("unit_code", *by))
    sums = evidence.groupby(by)[["numerator", "exposure"]].sum()
    return sums["numerator"] / sums["exposure"]


def indicator_changes(this_year: pd.DataFrame, last_year: pd.DataFrame, indicators: list[Indicator],
                      by: list[str]) -> pd.DataFrame:
    """Each indicator's level per group, this year and last, and whether it improved (by direction)."""
    rows = []
    for indicator in (i.level() for i in indicators):
        now = aggregate_level(this_year, indicator, by)
        before = aggregate_level(last_year, indicator, by) if not last_year.empty else pd.Series(dtype=float)
        for key, value in now.items():
            previous = before.get(key, np.nan)
            change = (value - previous) / previous if previous and not np.isnan(previous) else np.nan
            rows.append({"group": key, "indicator": indicator.code, "label": indicator.label,
                         "value": value, "previous": previous, "change": change,
                         "improved": None if np.isnan(change) else bool(change * indicator.sign > 0),
                         "percent": indicator.kind == "proportion"})
    return pd.DataFrame(rows, columns=["group", "indicator", "label", "value", "previous", "change", "improved",
                                       "percent"])


def national_monthly(months: pd.DataFrame, indicators: list[Indicator]) -> pd.DataFrame:
    """Monthly national levels (population rates per 100,000 a month, not annualised)."""
    columns = {}
    for indicator in indicators:
        level = aggregate_level(months, indicator.level(), ["month"])
        per_month = indicator.per == "population" and not indicator.stock and indicator.kind != "proportion"
        columns[indicator.code] = level / 12 if per_month else level
    result = pd.DataFrame(columns).rename_axis("month").reset_index()
    result["year"] = result["month"].dt.year
    return result


def funnel_data(months: pd.DataFrame, rankings: pd.DataFrame, config: ScoringConfig) -> pd.DataFrame:
    """Annual street crime per unit with enough months to be ranked: count, person-years/100,000, rate."""
    evidence = annual_evidence(months, street_crime(config).level())
    enough = rankings.loc[rankings["months_reported"] >= config.min_months_reported, ["unit_code", "urban_rural"]]
    evidence = evidence.join(enough.set_index("unit_code"), how="inner")
    return pd.DataFrame({"urban_rural": evidence["urban_rural"], "count": evidence["numerator"],
                         "person_years": evidence["exposure"],
                         "rate": evidence["numerator"] / evidence["exposure"]})


def street_crime(config: ScoringConfig) -> Indicator:
    return next(i for i in config.indicators if i.kind == "trend")


def reporting_rates(completeness: pd.DataFrame) -> dict[str, float]:
    expected = completeness["units_expected"].sum()
    return {"reporting_rate": completeness["units_reported"].sum() / expected if expected else np.nan,
            "on_time_rate": completeness["units_on_time"].sum() / expected if expected else np.nan,
            "unit_months_expected": int(expected), "unit_months_missing": int(completeness["units_missing"].sum())}


# ---------------------------------------------------------------- the report model


@dataclass
class ProvincePage:
    code: str
    name: str
    rates: dict
    improvements: list[dict]
    declines: list[dict]
    top_units: list[dict]
    district_gains: list[dict]
    gaps: list[str]
    not_ranked: int
    submissions: dict
    rejection_rules: list[dict]
    changes_chart: str
    reporting_chart: str


def _province_page(code: str, name: str, ctx: dict) -> ProvincePage:
    completeness = ctx["completeness"]
    this_year = completeness[(completeness["province_code"] == code) & (completeness["year"] == ctx["year"])]
    changes = ctx["province_changes"]
    changes = changes[changes["group"] == code]
    improvements = changes[changes["improved"] == True].assign(size=lambda f: f["change"].abs())  # noqa: E712
    declines = changes[changes["improved"] == False].assign(size=lambda f: f["change"].abs())  # noqa: E712
    rankings = ctx["rankings"]
    ranked = rankings[(rankings["province_code"] == code) & rankings["is_ranked"]]
    submissions = ctx["submissions"][ctx["submissions"]["province_code"] == code]
    rules = ctx["rejection_rules"][ctx["rejection_rules"]["province_code"] == code]
    return ProvincePage(
        code=code, name=name, rates=reporting_rates(this_year),
        improvements=improvements.sort_values("size", ascending=False).to_dict("records"),
        declines=declines.sort_values("size", ascending=False).to_dict("records"),
        top_units=ranked.sort_values(["province_median_rank", "point_rank"]).head(5).to_dict("records"),
        district_gains=_district_gains(ctx, code),
        gaps=_reporting_gaps(this_year),
        not_ranked=int(((rankings["province_code"] == code) & ~rankings["is_ranked"]).sum()),
        submissions=_submission_counts(submissions),
        rejection_rules=[{**r, "title": ctx["rule_titles"].get(r["rule"], r["rule"])}
                         for r in rules.to_dict("records")],
        changes_chart=charts.indicator_changes(changes, f"{name}: {ctx['year']} against {ctx['year'] - 1}")
        if changes["change"].notna().any() else "",
        reporting_chart=charts.province_reporting(this_year, f"{name}: units reporting each month, {ctx['year']}"))


def _district_gains(ctx: dict, province: str) -> list[dict]:
    """Districts of the province whose street crime per 100,000 fell most (at least 100,000 people)."""
    changes = ctx["district_street"]
    rows = changes[changes["group"].str.startswith(province + "-") & changes["change"].notna()]
    rows = rows[rows["exposure"] >= 1].sort_values("change").head(3)
    names = ctx["district_names"]
    return [{**r, "name": names.get(r["group"], r["group"])} for r in rows.to_dict("records") if r["change"] < 0]


def _reporting_gaps(completeness: pd.DataFrame) -> list[str]:
    gaps = []
    for row in completeness.sort_values("month").itertuples():
        if row.units_expected and row.units_reported == 0:
            gaps.append(f"{row.month:%B}: no accepted return (all {row.units_expected} units missing)")
        elif row.units_missing:
            gaps.append(f"{row.month:%B}: {row.units_missing} of {row.units_expected} units missing")
    return gaps


def _submission_counts(submissions: pd.DataFrame) -> dict:
    accepted = submissions[submissions["status"] == "accepted"]
    return {"received": len(submissions), "accepted": len(accepted),
            "rejected": int((submissions["status"] == "rejected").sum()),
            "duplicates": int((submissions["status"] == "duplicate").sum()),
            "revisions": int((accepted["revision_number"].fillna(1) > 1).sum()),
            "late": int((~submissions["received_by_due_date"].fillna(True).astype(bool)).sum())}


def _coverage(config: ScoringConfig, scores: pd.DataFrame, rankings: pd.DataFrame, names: dict) -> list[dict]:
    """Share of each province's units with evidence for each indicator: where an optional field is not
    collected, the unit is scored on the rest of the pillar."""
    units = rankings.groupby("province_code")["unit_code"].count()
    have = scores.groupby(["indicator_code", "province_code"])["unit_code"].count()
    rows = []
    for indicator in config.indicators:
        shares = {p: have.get((indicator.code, p), 0) / units[p] for p in names if units.get(p)}
        rows.append({"label": indicator.label, "shares": shares})
    return rows


def _integrity_flags(conn, year: int) -> pd.DataFrame:
    """The integrity screen's year (marts.rpt_integrity_flags_unit_year): stations and months by flag."""
    return _frame(conn, """
        select province_code, flag, count(*)::int as stations, sum(months_flagged)::int as months,
               count(*) filter (where is_serious)::int as serious
        from marts.rpt_integrity_flags_unit_year where year = %s
        group by province_code, flag order by flag, province_code""", (year,))


def build_context(conn: psycopg.Connection, year: int, config: ScoringConfig) -> dict:
    names = dict(conn.execute("select province_code, province_name from dim_province "
                              "order by province_code").fetchall())
    district_names = dict(conn.execute("select district_key, district_name from dim_district").fetchall())
    this_year, last_year = unit_months(conn, year, config.fields), unit_months(conn, year - 1, config.fields)
    rankings = _rankings(conn, year)
    if rankings.empty:
        raise RankingError(f"no rankings for {year} in marts.rpt_unit_rankings: run `cop rankings --year {year}`")
    completeness = _completeness(conn, year)
    current = completeness[completeness["year"] == year]
    ctx = dict(year=year, config=config, names=names, district_names=district_names, rankings=rankings,
               completeness=completeness, submissions=_submissions(conn, year),
               rejection_rules=_rejection_rules(conn, year), integrity=_integrity_flags(conn, year),
               rule_titles={code: rule.title for code, rule in load_form().rules.items()})
    indicators = list(config.indicators)
    ctx["province_changes"] = indicator_changes(this_year, last_year, indicators, ["province_code"])
    street = street_crime(config)
    district = indicator_changes(this_year, last_year, [street], ["district_key"])
    people = annual_evidence(this_year, street.level(), keys=("district_key",))["exposure"]
    ctx["district_street"] = district.assign(exposure=district["group"].map(people))
    ctx["national_changes"] = indicator_changes(this_year.assign(nation="PK"), last_year.assign(nation="PK"),
                                                indicators, ["nation"])
    by_code = {i.code: i for i in indicators}
    ctx["monthly"] = national_monthly(pd.concat([last_year, this_year]),
                                      [street, *(by_code[c] for c in MONTHLY_INDICATORS)])
    ctx["rates"] = reporting_rates(current)
    ctx["rates_previous"] = reporting_rates(completeness[completeness["year"] == year - 1])
    ctx["awards"] = _awards(conn, year)
    ctx["scores"] = _indicator_scores(conn, year)
    ctx["funnel"] = funnel_data(this_year, rankings, config)
    ctx["provinces"] = [_province_page(code, name, ctx) for code, name in names.items()]
    ctx["field"] = field_section(conn, year, names)
    return ctx


# ---------------------------------------------------------------- rendering


def _environment() -> Environment:
    environment = Environment(loader=PackageLoader("publishing", "templates"),
                              autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    environment.filters.update(pct=_pct, num=_num, signed_pct=_signed_pct)
    return environment


def _pct(value, digits: int = 1) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value * 100:.{digits}f}%"


def _signed_pct(value, digits: int = 1) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value * 100:+.{digits}f}%"


def _num(value, digits: int = 0) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:,.{digits}f}"


def render_html(ctx: dict) -> str:
    config = ctx["config"]
    rankings = ctx["rankings"]
    ranked = rankings[rankings["is_ranked"]]
    national = ctx["monthly"]
    trend_code = street_crime(config).code
    chart = dict(
        street=charts.year_over_year(national, trend_code, "Street crime per 100,000 people, each month",
                                     "FIRs per 100,000", ctx["year"]),
        meetings=charts.year_over_year(national, "meetings_per_100k", "Community meetings per 100,000 people",
                                       "meetings per 100,000", ctx["year"]),
        satisfaction=charts.year_over_year(national, "satisfaction_rate", "Survey respondents satisfied",
                                           "% satisfied", ctx["year"], percent=True),
        complaints=charts.year_over_year(national, "complaint_resolution_rate", "Public complaints resolved",
                                         "% of complaints received", ctx["year"], percent=True),
        reporting=charts.reporting_by_province(ctx["completeness"][ctx["completeness"]["year"] == ctx["year"]],
                                               ctx["names"]),
        intervals=charts.rank_intervals(ranked.head(40), f"The 40 best-placed units of {ctx['year']}"),
        funnel=charts.funnel_plot(ctx["funnel"], f"Street crime against population served, {ctx['year']}"),
    )
    not_ranked = rankings[~rankings["is_ranked"]]
    reasons = (not_ranked["not_ranked_reason"].str.replace(r"^reported \d+ of \d+", "reported too few of the",
                                                           regex=True).value_counts())
    shrink = ctx["scores"].dropna(subset=["weight_on_own_data"])
    return _environment().get_template("annual.html").render(
        **ctx, chart=chart, ranked=ranked, not_ranked=not_ranked, not_ranked_reasons=reasons,
        national_awards=ctx["awards"][ctx["awards"]["award_scope"] == "national"],
        province_awards=ctx["awards"][ctx["awards"]["award_scope"] == "province"],
        coverage=_coverage(config, ctx["scores"], rankings, ctx["names"]),
        shrinkage=shrink.groupby("indicator_code")["weight_on_own_data"].median().to_dict(),
        indicator_labels={i.code: i.label for i in config.indicators},
        run=rankings.iloc[0],
        generated_on=(ctx["release"].cut_off.date() if ctx.get("release") else dt.date.today()).isoformat())


def write_pdf(html: str, path: Path) -> Path:
    from weasyprint import HTML

    HTML(string=html).write_pdf(path)
    return path


# ---------------------------------------------------------------- rankings exports


def safe_cell(value):
    """A text cell a spreadsheet would read as a formula (= + - @, tab, CR) gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _export_rows(rankings: pd.DataFrame) -> list[list]:
    frame = rankings[RANKING_EXPORT_COLUMNS].astype(object).where(rankings[RANKING_EXPORT_COLUMNS].notna(), None)
    return [[safe_cell(v) for v in row] for row in frame.itertuples(index=False)]


def write_rankings_csv(rankings: pd.DataFrame, path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(RANKING_EXPORT_COLUMNS)
        writer.writerows(_export_rows(rankings))
    return path


def write_rankings_xlsx(rankings: pd.DataFrame, path: Path, year: int) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = f"Rankings {year}"
    sheet.append(RANKING_EXPORT_COLUMNS)
    for row in _export_rows(rankings):
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    workbook.save(path)
    return path


# ---------------------------------------------------------------- the whole report


def write_annual_report(year: int | None, out_dir: Path, release: ReleaseSource | None = None) -> dict[str, Path]:
    """Write the annual report (HTML and PDF) and the rankings (CSV and XLSX) for `year` (None: the
    latest complete year) into out_dir, from the current marts, or from a published release (its year,
    its frozen figures, its id and cut-off on every page and in every file). Returns {label: path}."""
    config = load_scoring()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with db.connect_as(TRANSFORM_ROLE) as conn:
        year = release.year if release else latest_complete_year(conn) if year is None else year
        read_release(conn, release) if release else read_current(conn)
        ctx = build_context(conn, year, config)
        ctx["release"] = release
        ctx["rankings"] = ctx["rankings"].assign(release=release.label if release else None,
                                                 cut_off=release.cut_off.isoformat() if release else None)
    html = render_html(ctx)
    stem = out_dir / f"cop-annual-report-{year}"
    html_path = stem.with_suffix(".html")
    html_path.write_text(html, encoding="utf-8")
    return {"annual report (HTML)": html_path,
            "annual report (PDF)": write_pdf(html, stem.with_suffix(".pdf")),
            "rankings (CSV)": write_rankings_csv(ctx["rankings"], out_dir / f"cop-rankings-{year}.csv"),
            "rankings (XLSX)": write_rankings_xlsx(ctx["rankings"], out_dir / f"cop-rankings-{year}.xlsx", year)}
