"""The monthly national bulletin: what the agency sends the provinces every month between annual reports.

Two to four pages (HTML and PDF), for one month: completeness and timeliness by province, the key
indicators' national and provincial trends over the 13 months to the month (spec/scoring.yaml
report.trend_charts), the month's recording-integrity flags, and a line per province on what moved
against the same month a year before (shares in percentage points, rates in %). It reads the marts only
(the exposure `monthly_bulletin`).

A month is final when every province's return is locked (approved by the federal desk, or past its lock
date) or still missing once the next month's return is due: `final_month` is the latest such month, the
one the monthly cycle publishes. A bulletin for a month that is not final says so on every page.
Files: COP_HOME/reports/bulletins/cop-bulletin-<YYYY-MM>.html and .pdf.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import psycopg

from cop import db
from cop.paths import state_dir
from cop.period import add_months, format_period
from cop.security import TRANSFORM_ROLE
from publishing import charts
from publishing.annual import _environment, write_pdf
from publishing.annual_model import frame
from publishing.config import Indicator, ScoringConfig, load_scoring
from publishing.integrity_labels import FLAG_LABELS
from publishing.levels import monthly_levels
from publishing.rankings import unit_months_between
from publishing.source import read_current

WINDOW_MONTHS = 13
MOVES_PER_PROVINCE = 2
MAX_FLAGGED_STATIONS = 12
STEM_PREFIX = "cop-bulletin-"
SERIOUS_FIRST = ("fir_collapse", "zero_run", "constant_reporting", "copied_month", "rounded_figures")


def bulletin_dir() -> Path:
    return state_dir("reports") / "bulletins"


def bulletin_stem(month: dt.date) -> str:
    return STEM_PREFIX + format_period(month)


def final_month(conn: psycopg.Connection) -> dt.date | None:
    """The latest month whose returns are final in every province (locked, or missing after the next
    month's due date); None when there is none yet."""
    row = conn.execute("""
        select max(month) from (
            select month from rpt_reporting_completeness
            group by month
            having bool_and(is_locked or (reporting_state in ('missing', 'rejected')
                                          and due_at + interval '1 month' < now()))
               and bool_or(reporting_state in ('on_time', 'late'))) as final""").fetchone()
    return row[0]


def latest_month(conn: psycopg.Connection) -> dt.date | None:
    """The latest month with an accepted return from any province (final or not)."""
    return conn.execute("select max(month) from rpt_reporting_completeness "
                        "where reporting_state in ('on_time', 'late')").fetchone()[0]


# ---------------------------------------------------------------- the model


@dataclass(frozen=True)
class ProvinceReporting:
    code: str
    name: str
    expected: int
    reported: int
    on_time: int
    late: int
    missing: int
    reporting_rate: float | None
    on_time_rate: float | None
    state: str                       # on_time | late | rejected | missing | not_due
    review: str                      # awaiting | received | approved | returned
    is_final: bool

    @property
    def state_words(self) -> str:
        return {"on_time": "on time", "late": "late", "rejected": "rejected", "missing": "no return",
                "not_due": "not due yet"}.get(self.state, self.state)

    @property
    def reporting_words(self) -> str:
        if self.state in ("on_time", "late"):
            return f"return {self.state_words}, {self.reporting_rate * 100:.0f}% of stations"
        return {"rejected": "file rejected and not resent", "missing": "no return"}.get(self.state, self.state_words)


@dataclass(frozen=True)
class Move:
    label: str
    value: str
    change: str                      # "+4.2 pp" / "-8%"
    verdict: str                     # better | worse | up | down


@dataclass
class Bulletin:
    month: dt.date
    months: list[dt.date]
    provinces: list[ProvinceReporting]
    nation: ProvinceReporting
    flag_counts: pd.DataFrame        # flag label x province code: stations flagged
    flagged: list[dict]              # the month's flags, most serious first (up to MAX_FLAGGED_STATIONS)
    flags_total: int
    moves: dict[str, list[Move]]     # province code -> what moved most
    generated_on: str
    charts: dict[str, str] = field(default_factory=dict)

    @property
    def is_final(self) -> bool:
        return all(p.is_final for p in self.provinces)

    @property
    def pending(self) -> list[str]:
        return [p.name for p in self.provinces if not p.is_final]


def _reporting(conn: psycopg.Connection, month: dt.date) -> tuple[list[ProvinceReporting], ProvinceReporting]:
    rows = frame(conn, """
        select c.*, p.province_name,
               c.is_locked or (c.reporting_state in ('missing', 'rejected') and c.due_at + interval '1 month' < now())
                   as is_final
        from rpt_reporting_completeness as c join dim_province as p using (province_code)
        where c.month = %s order by c.province_code""", (month,))
    if rows.empty:
        raise LookupError(f"the warehouse has no reporting figures for {format_period(month)}")
    provinces = [ProvinceReporting(r.province_code, r.province_name, int(r.units_expected), int(r.units_reported),
                                   int(r.units_on_time), int(r.units_late), int(r.units_missing),
                                   _none(r.reporting_rate), _none(r.on_time_rate), r.reporting_state, r.review_state,
                                   bool(r.is_final)) for r in rows.itertuples()]
    expected = sum(p.expected for p in provinces)
    total = ProvinceReporting("PK", "Pakistan", expected, sum(p.reported for p in provinces),
                              sum(p.on_time for p in provinces), sum(p.late for p in provinces),
                              sum(p.missing for p in provinces),
                              sum(p.reported for p in provinces) / expected if expected else None,
                              sum(p.on_time for p in provinces) / expected if expected else None, "", "",
                              all(p.is_final for p in provinces))
    return provinces, total


def _none(value):
    return None if value is None or pd.isna(value) else float(value)


def _flags(conn: psycopg.Connection, month: dt.date) -> pd.DataFrame:
    return frame(conn, """
        select f.province_code, f.unit_code, u.unit_name, f.flag, f.evidence
        from rpt_integrity_flags_unit_month as f
        left join dim_unit as u on u.unit_code = f.unit_code and u.valid_from <= f.month
             and (u.valid_to is null or u.valid_to >= f.month)
        where f.month = %s order by f.province_code, f.unit_code, f.flag""", (month,))


def _change(indicator: Indicator, value: float, previous: float) -> tuple[float, str]:
    """The change's size (to compare indicators) and its wording: shares in points, rates in %."""
    if indicator.is_share:
        points = (value - previous) * 100
        return abs(points) / max(previous * 100, 1), f"{points:+.1f} pp"
    relative = (value - previous) / previous
    return abs(relative), f"{relative * 100:+.0f}%"


def _level_text(indicator: Indicator, value: float) -> str:
    if indicator.is_share:
        return f"{value * 100:.0f}%"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _moves(levels: pd.DataFrame, config: ScoringConfig, code: str, month: dt.date, year_before: dt.date) -> list[Move]:
    """The key indicators that moved most in the province against the same month a year before."""
    moves = []
    for indicator in (config.indicator(c) for c in config.trend_charts):
        rows = levels[(levels["area_code"] == code) & (levels["indicator_code"] == indicator.level().code)]
        values = rows.set_index("period")["value"]
        value, previous = values.get(month), values.get(year_before)
        if value is None or previous is None or pd.isna(value) or pd.isna(previous) or previous == 0:
            continue
        size, change = _change(indicator, value, previous)
        if value == previous:
            verdict = "unchanged"
        elif indicator.sign == 0:
            verdict = "up" if value > previous else "down"
        else:
            verdict = "better" if (value - previous) * indicator.sign > 0 else "worse"
        moves.append((size, Move(indicator.label, _level_text(indicator, value), change, verdict)))
    return [move for _, move in sorted(moves, key=lambda m: -m[0])[:MOVES_PER_PROVINCE]]


def build_bulletin(conn: psycopg.Connection, month: dt.date, config: ScoringConfig) -> Bulletin:
    """The bulletin of `month` from the marts the connection reads."""
    months = [add_months(month, -offset) for offset in range(WINDOW_MONTHS - 1, -1, -1)]
    provinces, nation = _reporting(conn, month)
    indicators = [config.indicator(code) for code in config.trend_charts]
    fields = list(dict.fromkeys(f for i in indicators for f in i.level().fields))
    unit_months = unit_months_between(conn, months[0], month, fields)
    levels = monthly_levels(unit_months, indicators) if not unit_months.empty else pd.DataFrame(
        columns=["area_kind", "area_code", "period", "indicator_code", "value", "units_reporting"])
    levels["period"] = pd.to_datetime(levels["period"]).dt.date
    flags = _flags(conn, month)
    order = {flag: n for n, flag in enumerate(SERIOUS_FIRST)}
    flagged = flags.assign(rank=flags["flag"].map(order)).sort_values(["rank", "province_code", "unit_code"])
    counts = (flags.assign(label=flags["flag"].map(lambda f: FLAG_LABELS.get(f, f)))
              .pivot_table(index="label", columns="province_code", values="unit_code", aggfunc="count", fill_value=0)
              if not flags.empty else pd.DataFrame())
    bulletin = Bulletin(
        month=month, months=months, provinces=provinces, nation=nation, flag_counts=counts,
        flagged=[{"province": r.province_code, "unit": f"{r.unit_name or r.unit_code} ({r.unit_code})",
                  "flag": FLAG_LABELS.get(r.flag, r.flag), "evidence": r.evidence}
                 for r in flagged.head(MAX_FLAGGED_STATIONS).itertuples()],
        flags_total=len(flags),
        moves={p.code: _moves(levels, config, p.code, month, months[0]) for p in provinces},
        generated_on=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    names = {p.code: p.name for p in provinces}
    for indicator in indicators:
        level = indicator.level()
        unit = "%" if indicator.is_share else ("per 100,000 a year" if indicator.per == "population" else "per month")
        bulletin.charts[indicator.code] = charts.province_trends(
            levels[levels["indicator_code"] == level.code], names, months, unit,
            percent=indicator.is_share)
    return bulletin


def render_bulletin(bulletin: Bulletin, config: ScoringConfig) -> str:
    return _environment().get_template("bulletin.html").render(b=bulletin, config=config, flag_labels=FLAG_LABELS)


def write_bulletin(month: dt.date | None = None, out_dir: Path | None = None, latest: bool = False) -> dict[str, Path]:
    """The bulletin of `month` (None: the latest final month; with `latest`, the latest month with a return,
    provisional while it can change) as HTML and PDF, from the current marts. LookupError when there is no
    such month (or the month has no figures)."""
    config = load_scoring()
    with db.connect_as(TRANSFORM_ROLE) as conn:
        read_current(conn)
        month = month or (latest_month(conn) if latest else final_month(conn))
        if month is None:
            raise LookupError("no month's returns are final yet: no bulletin")
        bulletin = build_bulletin(conn, month, config)
    out_dir = Path(out_dir or bulletin_dir())
    out_dir.mkdir(parents=True, exist_ok=True)
    html = render_bulletin(bulletin, config)
    stem = out_dir / bulletin_stem(month)
    stem.with_suffix(".html").write_text(html, encoding="utf-8")
    return {"bulletin (HTML)": stem.with_suffix(".html"), "bulletin (PDF)": write_pdf(html, stem.with_suffix(".pdf"))}
