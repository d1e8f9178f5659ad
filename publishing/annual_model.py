"""The annual report as a typed model, built from the marts only (the exposure `annual_report`; a release
freezes the same tables, publishing/source.py). Every change or trend the report prints is read from a
mart (rpt_indicator_levels, rpt_province_reporting_year), never recomputed here; indicator lists and
titles come from spec/ (spec/scoring.yaml, spec/form.yaml).

The report is a list of sections (Section: an id, a title and a template partial under
templates/annual/); a new section is a new partial and an entry in `sections()`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd
import psycopg

from cop.spec import load_amendment, load_form
from publishing.config import Indicator, ScoringConfig
from publishing.field_stories import FieldSection, field_section
from publishing.rankings import RankingError
from publishing.source import ReleaseSource


# ---------------------------------------------------------------- reading the marts


def frame(conn: psycopg.Connection, query: str, params=()) -> pd.DataFrame:
    cursor = conn.execute(query, params)
    result = pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])
    for column in result.columns:
        if result[column].map(lambda v: type(v).__name__ == "Decimal").any():
            result[column] = pd.to_numeric(result[column]).astype(float)
    return result


# ---------------------------------------------------------------- the model's parts


@dataclass(frozen=True)
class Change:
    """An indicator's level this year against last year (rpt_indicator_levels)."""
    code: str
    label: str
    pillar: str
    is_share: bool
    value: float
    previous: float | None
    change_points: float | None      # shares: percentage points
    change_relative: float | None    # rates: 0.1 = 10% higher
    improved: bool | None            # None: no previous year, no change, or a context indicator

    @property
    def size(self) -> float:
        """How large the change is, to order changes of shares and rates together (relative to the level)."""
        if self.previous in (None, 0) or pd.isna(self.previous):
            return 0.0
        return abs(self.value - self.previous) / abs(self.previous)


@dataclass(frozen=True)
class ReportingRates:
    """A province's (or the nation's) reporting in a year (rpt_province_reporting_year)."""
    expected: int
    received: int
    on_time: int
    missing: int
    reporting_rate: float | None
    on_time_rate: float | None
    previous_reporting_rate: float | None = None
    previous_on_time_rate: float | None = None
    reporting_change_points: float | None = None
    on_time_change_points: float | None = None
    rejected_months: tuple[str, ...] = ()
    months_missing: int = 0


@dataclass(frozen=True)
class SubmissionCounts:
    received: int
    accepted: int
    rejected: int
    duplicates: int
    revisions: int
    late: int


@dataclass(frozen=True)
class Finding:
    """An achievement or a challenge, in words, drawn from the marts."""
    text: str
    source: str                      # what it is drawn from (for the reader and the tests)


@dataclass
class ProvincePage:
    code: str
    name: str
    rates: ReportingRates
    submissions: SubmissionCounts
    achievements: list[Finding]
    challenges: list[Finding]
    changes: list[Change]
    top_units: list[dict]
    not_ranked: int
    not_collected: list[str]
    reporting_chart: str = ""
    changes_chart: str = ""


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    template: str                    # a partial under publishing/templates/annual/


@dataclass(frozen=True)
class RunInfo:
    run_id: int
    seed: int
    draws: int
    config_sha256: str


@dataclass
class AnnualReport:
    year: int
    config: ScoringConfig
    release: ReleaseSource | None
    generated_on: str
    run: RunInfo
    names: dict[str, str]
    rates: ReportingRates
    national_changes: list[Change]
    provinces: list[ProvincePage]
    rankings: pd.DataFrame           # every unit expected (the rankings export)
    awards: pd.DataFrame             # awarded and withheld
    completeness: pd.DataFrame       # province x month of the year (rpt_reporting_completeness)
    rejection_rules: pd.DataFrame
    rule_titles: dict[str, str]      # spec/form.yaml
    rejected_files: int
    integrity: pd.DataFrame
    coverage: list[dict]
    shrinkage: dict[str, float]
    monthly: pd.DataFrame            # national monthly levels of the charted indicators (rpt_indicator_levels)
    funnel: pd.DataFrame
    unit_scores: pd.DataFrame        # z-scores of the index's indicators (the statistical annex)
    sensitivity: pd.DataFrame
    national_cut_off: int            # the award rule's worst rank, nationally and in each province
    province_cut_offs: dict[str, int]
    from_the_field: FieldSection     # form v2's harm and recovery figures and the stories from the field
    charts: dict[str, str] = field(default_factory=dict)
    annex: object | None = None      # publishing.annex.Annex, set when the annex is computed
    sections: list[Section] = field(default_factory=list)

    @property
    def ranked(self) -> pd.DataFrame:
        return self.rankings[self.rankings["is_ranked"]]

    @property
    def not_ranked(self) -> pd.DataFrame:
        return self.rankings[~self.rankings["is_ranked"]]

    def awarded(self, scope: str) -> pd.DataFrame:
        return self.awards[(self.awards["award_scope"] == scope) & (self.awards["status"] == "awarded")]

    @property
    def withheld(self) -> pd.DataFrame:
        return self.awards[self.awards["status"] == "withheld"]


def sections() -> list[Section]:
    """The report's sections in order."""
    return [Section("executive-summary", "Executive summary", "annual/summary.html"),
            Section("national-trends", "National trends", "annual/trends.html"),
            Section("provinces", "Provinces", "annual/provinces.html"),
            Section("harm-and-recovery", "Safety: harm and recovery", "annual/harm.html"),
            Section("from-the-field", "From the field", "annual/from_the_field.html"),
            Section("rankings", "Rankings and awards", "annual/rankings.html"),
            Section("funnel-plot", "Recorded street crime: funnel plot", "annual/funnel.html"),
            Section("data-quality", "Appendix A: Data quality", "annual/data_quality.html"),
            Section("statistical-annex", "Appendix B: Statistical annex", "annual/annex.html"),
            Section("methodology", "Appendix C: Methodology", "annual/methodology.html")]


# ---------------------------------------------------------------- marts into parts


def _none(value):
    return None if value is None or pd.isna(value) else value


def changes(levels: pd.DataFrame, config: ScoringConfig) -> list[Change]:
    """The year's changes in the order of spec/scoring.yaml (the index's pillars, then the context)."""
    order = {i.level().code: n for n, i in enumerate((*config.indicators, *config.context))}
    levels = levels.sort_values("indicator_code", key=lambda codes: codes.map(order))
    return [Change(code=r.indicator_code, label=r.indicator_label, pillar=r.pillar, is_share=bool(r.is_share),
                   value=r.value, previous=_none(r.previous_value), change_points=_none(r.change_points),
                   change_relative=_none(r.change_relative), improved=_none(r.improved))
            for r in levels.itertuples()]


def _levels(conn, year: int) -> pd.DataFrame:
    return frame(conn, """
        select area_kind, area_code, period_kind, period, indicator_code, indicator_label, pillar, is_share,
               value, previous_value, change_points, change_relative, improved
        from rpt_indicator_levels where year = %s
        order by area_kind, area_code, period_kind, period, indicator_code""", (year,))


def _reporting(conn, year: int) -> pd.DataFrame:
    return frame(conn, "select * from rpt_province_reporting_year where year = %s order by province_code", (year,))


def reporting_rates(rows: pd.DataFrame) -> ReportingRates:
    """One province's row, or the sum of all (the nation: rates from the summed station-months)."""
    if len(rows) == 1:
        r = rows.iloc[0]
        return ReportingRates(
            int(r.station_months_expected), int(r.station_months_received), int(r.station_months_on_time),
            int(r.station_months_missing), _none(r.reporting_rate), _none(r.on_time_rate),
            _none(r.previous_reporting_rate), _none(r.previous_on_time_rate),
            _none(r.reporting_rate_change_points), _none(r.on_time_rate_change_points),
            tuple(r.rejected_months.split(", ")) if _none(r.rejected_months) else (), int(r.months_missing))
    expected = int(rows["station_months_expected"].sum())
    received, on_time = int(rows["station_months_received"].sum()), int(rows["station_months_on_time"].sum())
    return ReportingRates(expected, received, on_time, int(rows["station_months_missing"].sum()),
                          received / expected if expected else None, on_time / expected if expected else None)


def _completeness(conn, year: int) -> pd.DataFrame:
    result = frame(conn, """
        select province_code, month, units_expected, units_reported, units_missing, units_on_time, units_late
        from rpt_reporting_completeness
        where month >= make_date(%s, 1, 1) and month < make_date(%s + 1, 1, 1)
        order by province_code, month""", (year, year))
    return result.assign(month=pd.to_datetime(result["month"]))


def _submissions(conn, year: int) -> pd.DataFrame:
    return frame(conn, """
        select submission_id, province_code, month, status, received_by_due_date, revision_number, error_count
        from rpt_submission_history
        where month >= make_date(%s, 1, 1) and month < make_date(%s + 1, 1, 1)
        order by submission_id""", (year, year))


def submission_counts(submissions: pd.DataFrame) -> SubmissionCounts:
    accepted = submissions[submissions["status"] == "accepted"]
    return SubmissionCounts(
        received=len(submissions), accepted=len(accepted),
        rejected=int((submissions["status"] == "rejected").sum()),
        duplicates=int((submissions["status"] == "duplicate").sum()),
        revisions=int((accepted["revision_number"].fillna(1) > 1).sum()),
        late=int((~submissions["received_by_due_date"].fillna(True).astype(bool)).sum()))


def _rejection_rules(conn, year: int) -> pd.DataFrame:
    return frame(conn, """
        select c.province_code, c.rule, count(distinct c.submission_id)::int as submissions,
               sum(c.problem_count)::int as problems
        from rpt_submission_rule_counts as c
        inner join rpt_submission_history as h on h.submission_id = c.submission_id
        where h.status = 'rejected' and c.severity = 'error'
          and c.month >= make_date(%s, 1, 1) and c.month < make_date(%s + 1, 1, 1)
        group by c.province_code, c.rule order by submissions desc, problems desc, c.province_code, c.rule""", (year, year))


def _rankings(conn, year: int) -> pd.DataFrame:
    result = frame(conn, "select * from rpt_unit_rankings where year = %s "
                         "order by is_ranked desc, national_rank, point_rank, unit_code", (year,))
    ranks = [c for c in result.columns if c.endswith(("_rank", "rank_low", "rank_high"))]
    result[ranks] = result[ranks].astype("Int64")   # unranked units have none: not floats
    return result


def _awards(conn, year: int) -> pd.DataFrame:
    return frame(conn, """
        select a.*, r.index_score as score from rpt_awards as a
        inner join rpt_unit_rankings as r using (year, unit_code)
        where a.year = %s order by a.award_scope, a.province_code, a.rank, a.unit_code""", (year,))


def _integrity(conn, year: int) -> pd.DataFrame:
    return frame(conn, """
        select province_code, flag, count(*)::int as stations, sum(months_flagged)::int as months,
               count(*) filter (where is_serious)::int as serious
        from rpt_integrity_flags_unit_year where year = %s
        group by province_code, flag order by flag, province_code""", (year,))


def _unit_scores(conn, year: int) -> pd.DataFrame:
    return frame(conn, "select unit_code, province_code, indicator_code, pillar, z_score, weight_on_own_data "
                       "from rpt_unit_scores where year = %s order by unit_code, indicator_code", (year,))


def _sensitivity(conn, year: int) -> pd.DataFrame:
    return frame(conn, "select scenario, scenario_label, unit_code, province_code, national_rank, province_rank, "
                       "national_rank_shift, province_rank_shift, within_national_cut_off, within_province_cut_off "
                       "from rpt_rank_sensitivity where year = %s order by scenario, unit_code", (year,))


def _funnel(conn, year: int, indicator: Indicator, rankings: pd.DataFrame) -> pd.DataFrame:
    """Each ranked station's annual count and person-years (per 100,000) of the funnel's indicator, from
    the months it reported with the figure known (fct_unit_month), with its peer group."""
    from psycopg import sql

    numerator = sql.SQL(" + ").join(sql.Identifier(f) for f in indicator.numerator)
    known = sql.SQL(" and ").join(sql.SQL("{} is not null").format(sql.Identifier(f)) for f in indicator.numerator)
    query = sql.SQL("""
        select unit_code, sum({numerator})::float as count, sum(population)::float / 100000 / 12 as person_years
        from fct_unit_month
        where month >= make_date(%s, 1, 1) and month < make_date(%s + 1, 1, 1) and {known}
        group by unit_code order by unit_code""").format(numerator=numerator, known=known)
    counts = frame(conn, query, (year, year))
    peers = rankings.loc[rankings["is_ranked"], ["unit_code", "peer_group"]]
    result = counts.merge(peers, on="unit_code")
    return result.assign(rate=result["count"] / result["person_years"])


# ---------------------------------------------------------------- findings, per province


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def change_text(change: Change) -> str:
    if change.is_share:
        return (f"{change.label}: {_pct(change.previous)} to {_pct(change.value)} "
                f"({change.change_points:+.1f} percentage points)")
    return (f"{change.label}: {change.previous:,.2f} to {change.value:,.2f} "
            f"({change.change_relative * 100:+.1f}%)")


def achievements(page_changes: list[Change], rates: ReportingRates, awards: pd.DataFrame) -> list[Finding]:
    found = [Finding(change_text(c), "rpt_indicator_levels")
             for c in sorted((c for c in page_changes if c.improved is True), key=lambda c: -c.size)[:3]]
    if rates.on_time_change_points is not None and rates.on_time_change_points >= 1:
        found.append(Finding(f"Returns on time: {_pct(rates.previous_on_time_rate)} to {_pct(rates.on_time_rate)} "
                             f"of station-months ({rates.on_time_change_points:+.1f} percentage points)",
                             "rpt_province_reporting_year"))
    if rates.reporting_rate is not None and rates.reporting_rate >= 0.999:
        found.append(Finding("Every expected station reported every month", "rpt_province_reporting_year"))
    if len(awards):
        found.append(Finding(f"{len(awards)} award{'s' if len(awards) > 1 else ''} "
                             f"({', '.join(sorted(set(awards['award_scope'])))})", "rpt_awards"))
    return found


def challenges(page_changes: list[Change], rates: ReportingRates, submissions: SubmissionCounts,
               integrity: pd.DataFrame, not_collected: list[str], not_ranked: int) -> list[Finding]:
    found = [Finding(change_text(c), "rpt_indicator_levels")
             for c in sorted((c for c in page_changes if c.improved is False), key=lambda c: -c.size)[:3]]
    if rates.rejected_months:
        found.append(Finding(f"Rejected and never resubmitted: {', '.join(rates.rejected_months)} "
                             f"(no accepted return for {'these months' if len(rates.rejected_months) > 1 else 'this month'})",
                             "rpt_province_reporting_year"))
    if rates.months_missing:
        found.append(Finding(f"{rates.months_missing} month{'s' if rates.months_missing > 1 else ''} with no file at all",
                             "rpt_province_reporting_year"))
    if rates.on_time_change_points is not None and rates.on_time_change_points <= -1:
        found.append(Finding(f"Returns on time fell: {_pct(rates.previous_on_time_rate)} to {_pct(rates.on_time_rate)} "
                             f"of station-months ({rates.on_time_change_points:+.1f} percentage points)",
                             "rpt_province_reporting_year"))
    if rates.missing:
        found.append(Finding(f"{rates.missing:,} of {rates.expected:,} station-months not reported "
                             f"({_pct(rates.missing / rates.expected)})", "rpt_province_reporting_year"))
    if submissions.rejected:
        found.append(Finding(f"{submissions.rejected} of {submissions.received} files rejected", "rpt_submission_history"))
    for row in integrity.itertuples():
        found.append(Finding(f"Integrity screen, {row.flag.replace('_', ' ')}: {row.stations} station"
                             f"{'s' if row.stations > 1 else ''}, {row.months} station-month{'s' if row.months > 1 else ''}"
                             f"{f', {row.serious} serious' if row.serious else ''}", "rpt_integrity_flags_unit_year"))
    if not_collected:
        found.append(Finding(f"Not collected: {'; '.join(not_collected)}", "spec/amendments"))
    if not_ranked:
        found.append(Finding(f"{not_ranked} station{'s' if not_ranked > 1 else ''} could not be ranked",
                             "rpt_unit_rankings"))
    return found


def not_collected(province: str, config: ScoringConfig) -> list[str]:
    """The index's indicators the province does not collect (its amendment omits a field they need)."""
    omitted = set(load_amendment(province).omit)
    return [f"{i.label} (counts as typical)" if config.not_collected == "typical" else i.label
            for i in config.indicators if omitted & set(i.fields)]


# ---------------------------------------------------------------- the whole model


def _coverage(config: ScoringConfig, scores: pd.DataFrame, rankings: pd.DataFrame, names: dict) -> list[dict]:
    units = rankings.groupby("province_code")["unit_code"].count()
    have = scores.groupby(["indicator_code", "province_code"])["unit_code"].count()
    return [{"label": i.label, "shares": {p: have.get((i.code, p), 0) / units[p] for p in names if units.get(p)}}
            for i in config.indicators]


def build_model(conn: psycopg.Connection, year: int, config: ScoringConfig,
                release: ReleaseSource | None) -> AnnualReport:
    names = dict(conn.execute("select province_code, province_name from dim_province order by province_code").fetchall())
    rankings = _rankings(conn, year)
    if rankings.empty:
        raise RankingError(f"no rankings for {year} in marts.rpt_unit_rankings: run `cop rankings --year {year}`")
    levels = _levels(conn, year)
    if levels.empty:
        raise RankingError(f"no indicator levels for {year} in marts.rpt_indicator_levels: rank the year again "
                           f"(`cop rankings --year {year}`)")
    this_year = levels[(levels["period_kind"] == "year") & (pd.to_datetime(levels["period"]).dt.year == year)]
    reporting, submissions = _reporting(conn, year), _submissions(conn, year)
    awards, integrity = _awards(conn, year), _integrity(conn, year)
    scores = _unit_scores(conn, year)
    provinces = []
    for code, name in names.items():
        page_changes = changes(this_year[(this_year["area_kind"] == "province") & (this_year["area_code"] == code)],
                               config)
        rates = reporting_rates(reporting[reporting["province_code"] == code])
        counts = submission_counts(submissions[submissions["province_code"] == code])
        missing = not_collected(code, config)
        unranked = int(((rankings["province_code"] == code) & ~rankings["is_ranked"]).sum())
        mine = rankings[(rankings["province_code"] == code) & rankings["is_ranked"]]
        provinces.append(ProvincePage(
            code=code, name=name, rates=rates, submissions=counts,
            achievements=achievements(page_changes, rates, awards[(awards["province_code"] == code)
                                                                  & (awards["status"] == "awarded")]),
            challenges=challenges(page_changes, rates, counts, integrity[integrity["province_code"] == code],
                                  missing, unranked),
            changes=page_changes, top_units=mine.sort_values(["province_rank", "point_rank"]).head(5).to_dict("records"),
            not_ranked=unranked, not_collected=missing))
    monthly = levels[(levels["area_kind"] == "nation") & (levels["period_kind"] == "month")
                     & levels["indicator_code"].isin(config.trend_charts)]
    run = rankings.iloc[0]
    shrink = scores.dropna(subset=["weight_on_own_data"])
    return AnnualReport(
        year=year, config=config, release=release,
        generated_on=(release.cut_off.date() if release else dt.date.today()).isoformat(),
        run=RunInfo(int(run["run_id"]), int(run["seed"]), int(run["draws"]), run["config_sha256"]),
        names=names, rates=reporting_rates(reporting),
        national_changes=changes(this_year[this_year["area_kind"] == "nation"], config),
        provinces=provinces, rankings=rankings, awards=awards,
        completeness=_completeness(conn, year), rejection_rules=_rejection_rules(conn, year),
        rule_titles={code: rule.title for code, rule in load_form().rules.items()},
        rejected_files=int((submissions["status"] == "rejected").sum()),
        integrity=integrity,
        coverage=_coverage(config, scores, rankings, names),
        shrinkage=shrink.groupby("indicator_code")["weight_on_own_data"].median().to_dict(),
        monthly=monthly.assign(period=pd.to_datetime(monthly["period"])),
        funnel=_funnel(conn, year, config.indicator(config.funnel), rankings),
        unit_scores=scores, sensitivity=_sensitivity(conn, year),
        national_cut_off=config.awards["national"].cut_off(int(rankings["is_ranked"].sum())),
        province_cut_offs={code: config.awards["province"].cut_off(int(count)) for code, count
                           in rankings[rankings["is_ranked"]].groupby("province_code").size().items()},
        from_the_field=field_section(conn, year, names), sections=sections())

