"""Refresh the rankings: read a year's unit inputs from the marts, score them (publishing.scoring),
store the result in the `scores` schema with the seed and config that produced it, and build the
score marts (rpt_unit_scores, rpt_unit_rankings, rpt_awards) so BI tools and the report read the
same numbers."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import pandas as pd
import psycopg
from psycopg import sql

from cop import db
from cop.security import TRANSFORM_ROLE
from publishing.config import ScoringConfig, load_scoring
from publishing.levels import LEVEL_COLUMNS as LEVEL_FRAME_COLUMNS
from publishing.levels import indicator_levels
from publishing.scoring import YearScores, score_year
from publishing.source import read_current

SCORE_MARTS = "path:models/marts/scores"

RANKING_COLUMNS = [
    "year", "unit_code", "province_code", "district_key", "urban_rural", "population", "peer_group",
    "months_expected", "months_reported", "is_ranked", "not_ranked_reason", "partnership_score",
    "problem_solving_score", "organisational_transformation_score", "outcomes_score", "index_score",
    "point_rank", "median_rank", "rank_low", "rank_high", "province_median_rank", "province_rank_low",
    "province_rank_high", "national_award", "province_award"]
SCORE_COLUMNS = [
    "year", "unit_code", "province_code", "peer_group", "indicator_code", "indicator_label", "pillar", "direction",
    "months_used", "numerator", "exposure", "raw_value", "shrunk_value", "previous_value", "weight_on_own_data", "z_score"]
AWARD_COLUMNS = ["year", "award_scope", "province_code", "unit_code", "award", "median_rank", "rank_low",
                 "rank_high", "rule", "status", "withheld_reason"]
LEVEL_COLUMNS = ["year", *LEVEL_FRAME_COLUMNS]
SCENARIO_COLUMNS = ["year", "scenario", "scenario_label", "unit_code", "province_code", "index_score", "national_rank",
                    "province_rank", "national_cut_off", "province_cut_off"]


class RankingError(RuntimeError):
    """The rankings could not be computed (no data for the year) or their marts not built."""


@dataclass(frozen=True)
class RankingRun:
    run_id: int
    year: int
    seed: int
    draws: int
    units_expected: int
    units_ranked: int
    awards: int


# ---------------------------------------------------------------- inputs from the marts


def latest_complete_year(conn: psycopg.Connection) -> int:
    """The latest calendar year for which the warehouse has all twelve months."""
    row = conn.execute("""
        select max(year) from (
            select extract(year from month)::int as year from marts.rpt_reporting_completeness
            group by 1 having count(distinct month) = 12) as complete""").fetchone()
    if row[0] is None:
        raise RankingError("the warehouse has no complete calendar year of returns yet")
    return row[0]


def _frame(conn: psycopg.Connection, query, params=()) -> pd.DataFrame:
    cursor = conn.execute(query, params)
    return pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])


def unit_months(conn: psycopg.Connection, year: int, fields: list[str]) -> pd.DataFrame:
    """The year's reported unit-months from fct_unit_month (NaN = unknown, never zero)."""
    return unit_months_between(conn, dt.date(year, 1, 1), dt.date(year, 12, 1), fields)


def unit_months_between(conn: psycopg.Connection, first: dt.date, last: dt.date, fields: list[str]) -> pd.DataFrame:
    """The reported unit-months of months first..last from fct_unit_month (NaN = unknown, never zero)."""
    query = sql.SQL("select unit_code, province_code, district_key, month, population, {fields} "
                    "from fct_unit_month where month between %s and %s "
                    # A fixed order: floating-point sums depend on it, and a rebuilt warehouse (a restore)
                    # stores the rows in another physical order; the same data must rank the same.
                    "order by unit_code, month").format(
        fields=sql.SQL(", ").join(sql.Identifier(f) for f in fields))
    frame = _frame(conn, query, (first, last))
    frame["month"] = pd.to_datetime(frame["month"])
    for column in ["population", *fields]:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def units_of_year(conn: psycopg.Connection, year: int) -> pd.DataFrame:
    """Every unit expected to report in the year, with its months reported, as the registry
    described it in its last expected month (urban/rural, population)."""
    frame = _frame(conn, """
        select y.unit_code, u.unit_name, y.province_code, y.district_key, u.urban_rural, u.population,
               y.months_expected, y.months_reported
        from rpt_unit_reporting_year as y
        cross join lateral (
            select unit_name, urban_rural, population from dim_unit as d
            where d.unit_code = y.unit_code and d.valid_from <= make_date(y.year, 12, 1)
            order by d.valid_from desc limit 1) as u
        where y.year = %s
        order by y.unit_code""", (year,))
    return frame.astype({"population": int, "months_expected": int, "months_reported": int})


# ---------------------------------------------------------------- storing


def _cell(value):
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


def _copy(conn: psycopg.Connection, table: str, run_id: int, frame: pd.DataFrame, columns: list[str]) -> None:
    statement = sql.SQL("copy scores.{} ({}) from stdin").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in ["run_id", *columns]))
    with conn.cursor().copy(statement) as copy:
        for row in frame[columns].itertuples(index=False):
            copy.write_row([run_id, *(_cell(v) for v in row)])


def store(conn: psycopg.Connection, year: int, result: YearScores, config: ScoringConfig, seed: int,
          draws: int, levels: pd.DataFrame) -> RankingRun:
    """Record the run with its scores, rankings and awards, in one transaction. Earlier runs stay (a
    release cites its run); the score marts show the latest run of each year."""
    rankings = result.rankings.assign(year=year)
    with conn.transaction():
        run_id = conn.execute(
            "insert into scores.runs (year, seed, draws, config_sha256, config, units_expected, units_ranked) "
            "values (%s, %s, %s, %s, %s, %s, %s) returning run_id",
            (year, seed, draws, config.sha256, config.text, len(rankings), int(rankings["is_ranked"].sum()))
        ).fetchone()[0]
        _copy(conn, "unit_rankings", run_id, rankings, RANKING_COLUMNS)
        _copy(conn, "unit_indicator_scores", run_id, result.indicator_scores.assign(year=year), SCORE_COLUMNS)
        _copy(conn, "awards", run_id, result.awards.assign(year=year), AWARD_COLUMNS)
        _copy(conn, "scenario_ranks", run_id, result.scenarios.assign(year=year), SCENARIO_COLUMNS)
        _copy(conn, "indicator_levels", run_id, levels.assign(year=year), LEVEL_COLUMNS)
    return RankingRun(run_id, year, seed, draws, len(rankings), int(rankings["is_ranked"].sum()),
                      int((result.awards["status"] == "awarded").sum()))


# ---------------------------------------------------------------- the whole refresh


def integrity_holds(conn: psycopg.Connection, year: int) -> dict[str, str]:
    """Units whose year has a serious recording-integrity flag (marts.rpt_integrity_flags_unit_year,
    is_serious), with the flags and their evidence: an award they qualify for is held back."""
    rows = conn.execute("""
        select unit_code, string_agg(flag || ' (' || months_flagged || ' month' ||
                                     case when months_flagged > 1 then 's' else '' end || '): ' || evidence,
                                     '; ' order by flag)
        from rpt_integrity_flags_unit_year where year = %s and is_serious
        group by unit_code""", (year,)).fetchall()
    return dict(rows)


def compute_rankings(conn: psycopg.Connection, year: int, config: ScoringConfig, seed: int | None = None,
                     draws: int | None = None) -> tuple[YearScores, pd.DataFrame]:
    """The year's scores, ranks and awards, and the indicator levels of the year and the one before."""
    units = units_of_year(conn, year)
    if units.empty:
        raise RankingError(f"no unit was expected to report in {year}")
    this_year, last_year = unit_months(conn, year, config.fields), unit_months(conn, year - 1, config.fields)
    scores = score_year(this_year, last_year, units, config, seed=seed, draws=draws, holds=integrity_holds(conn, year))
    return scores, indicator_levels(this_year, last_year, config)


def refresh_rankings(year: int | None = None, seed: int | None = None, draws: int | None = None,
                     build_marts: bool = True) -> RankingRun:
    """Score and rank the units of `year` (default: the latest complete year), store the result and
    build the score marts. The seed (default: spec/scoring.yaml) is stored: a rerun with the same
    seed, data and config gives the same ranks."""
    config = load_scoring()
    seed = config.seed if seed is None else seed
    draws = config.draws if draws is None else draws
    with db.connect_as(TRANSFORM_ROLE, autocommit=True) as conn:
        read_current(conn)
        year = latest_complete_year(conn) if year is None else year
        scores, levels = compute_rankings(conn, year, config, seed, draws)
        run = store(conn, year, scores, config, seed, draws, levels)
    if build_marts:
        build_score_marts()
    return run


def build_score_marts() -> None:
    from cop.build import BuildError, build

    result = build(select=SCORE_MARTS)
    if not result.success:
        raise BuildError(result.failure_report())
