"""Where the rankings and the annual report read their figures: the current marts, or a published release.

The report's queries name the marts unqualified (`from fct_unit_month`). read_current() points the
connection at schema marts; read_release() shadows each mart the report reads with a temporary view of
the release's frozen copy (releases.<mart>, one release's rows), and leaves nothing else visible, so a
report built from a release can only read what the release froze. REPORT_TABLES is that list: which
marts a release freezes and which rows of them a year's report needs (None: all rows).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg
from psycopg import sql

_MONTHS = "month >= make_date(%(year)s - 1, 1, 1) and month < make_date(%(year)s + 1, 1, 1)"
REPORT_TABLES: dict[str, str | None] = {
    "dim_province": None,
    "dim_unit": None,
    "fct_unit_month": _MONTHS,
    "fct_unit_month_narrative": "month >= make_date(%(year)s, 1, 1) and month < make_date(%(year)s + 1, 1, 1)",
    "rpt_reporting_completeness": _MONTHS,
    "rpt_province_reporting_year": "year in (%(year)s - 1, %(year)s)",
    "rpt_submission_history": _MONTHS,
    "rpt_submission_rule_counts": _MONTHS,
    "rpt_unit_reporting_year": "year in (%(year)s - 1, %(year)s)",
    "rpt_integrity_flags_unit_year": "year = %(year)s",
    "rpt_unit_scores": "year = %(year)s",
    "rpt_unit_rankings": "year = %(year)s",
    "rpt_awards": "year = %(year)s",
    "rpt_indicator_levels": "year = %(year)s",
    "rpt_rank_sensitivity": "year = %(year)s",
}


@dataclass(frozen=True)
class ReleaseSource:
    """A published release, as the report shows it on every page."""
    release_id: int
    label: str
    year: int
    cut_off: dt.datetime

    @property
    def stamp(self) -> str:
        return f"Release {self.label} (id {self.release_id}), figures as of {self.cut_off:%Y-%m-%d %H:%M} UTC"


def read_current(conn: psycopg.Connection) -> None:
    conn.execute("set search_path = marts")


def read_release(conn: psycopg.Connection, release: ReleaseSource) -> None:
    for table in REPORT_TABLES:
        columns = [row[0] for row in conn.execute(
            "select column_name from information_schema.columns where table_schema = 'releases' "
            "and table_name = %s and column_name <> 'release_id' order by ordinal_position", (table,))]
        if not columns:
            raise LookupError(f"release {release.label} has no frozen copy of {table}")
        conn.execute(sql.SQL("create or replace temporary view {} as select {} from releases.{} "
                             "where release_id = {}").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(table),
            sql.Literal(release.release_id)))
    conn.execute("set search_path = pg_temp")
