"""Station scorecards: one page per police station, the feedback the agency owes each unit.

A scorecard shows the station's indicators of the scored year against its peer group's median, its
pillar scores against the peer group's, its ranks with their 90% intervals, and its data-quality notes
(the integrity screen's flags and the intake's warnings on the figures used). It reads the marts only
(the exposure `station_scorecards`), through publishing.source.

A province's scorecards are one HTML document with a page break per station, laid out once by
WeasyPrint: the province pack (one PDF). Each station's own PDF is a page of that layout, and its
HTML the same template with one station, so the pack and the single scorecard never disagree.
Files: COP_HOME/reports/scorecards/<year>/<PROVINCE>/ (cop-scorecards-<year>-<PROVINCE>.pdf,
<UNIT>.html, <UNIT>.pdf). The portal serves them to the station's province and to federal staff.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import psycopg

from cop import db
from cop.paths import state_dir
from cop.security import TRANSFORM_ROLE
from cop.spec import load_form
from publishing.annual import _environment, pdf_document
from publishing.annual_model import frame
from publishing.config import Indicator, ScoringConfig, load_scoring
from publishing.integrity_labels import FLAG_LABELS
from publishing.source import read_current

UNIT_CODE = re.compile(r"^[A-Z]{2}-[A-Z0-9]{2,4}-[0-9]{3}$")
CLOSE_TO_MEDIAN = 0.5      # |z| below this (peer standard deviations): "close to the median"
MAX_NOTES = 4              # data-quality lines printed per station (the rest counted), so a card fits a page


def scorecards_root() -> Path:
    return state_dir("reports") / "scorecards"


def scorecard_dir(year: int, province: str) -> Path:
    return scorecards_root() / str(year) / province


def pack_name(year: int, province: str) -> str:
    return f"cop-scorecards-{year}-{province}.pdf"


# ---------------------------------------------------------------- the model


@dataclass(frozen=True)
class IndicatorLine:
    label: str
    pillar: str
    value: str                       # the station's figure, formatted
    peer_median: str
    months_used: int | None
    verdict: str                     # better | worse | typical | missing
    marker: str                      # ▲ ▼ ≈ – : the verdict without colour

    @property
    def words(self) -> str:
        return {"better": "better", "worse": "worse", "typical": "typical", "missing": "no figure"}[self.verdict]


@dataclass(frozen=True)
class PillarLine:
    label: str
    score: float | None
    peer_median: float | None


@dataclass(frozen=True)
class Rank:
    rank: str                        # "12 of 1,758" ("=12": shared)
    interval: str                    # "90% interval 5–30"


@dataclass
class Scorecard:
    unit_code: str
    unit_name: str
    province_code: str
    province_name: str
    district_name: str
    peer_group: str
    population: int
    months_expected: int
    months_reported: int
    is_ranked: bool
    not_ranked_reason: str | None
    index_score: float | None
    peer_index_median: float | None
    national: Rank | None            # None: not ranked
    provincial: Rank | None
    awards: list[str]
    pillars: list[PillarLine]
    indicators: list[IndicatorLine]
    flags: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    more_notes: int = 0


@dataclass
class ProvincePack:
    year: int
    province_code: str
    province_name: str
    cards: list[Scorecard]
    generated_on: str
    run_id: int | None


def _format(value: float | None, indicator: Indicator) -> str:
    if value is None or pd.isna(value):
        return "–"
    if indicator.kind == "trend":
        return f"{math.expm1(value) * 100:+.0f}% on last year"
    if indicator.is_share:
        return f"{value * 100:.0f}%"
    unit = {"population": "per 100,000 a year", "officers": "per officer a year", "unit_month": "a month"}[indicator.per]
    return f"{value:,.1f} {unit}" if value < 100 else f"{value:,.0f} {unit}"


def _verdict(z: float | None) -> tuple[str, str]:
    if z is None or pd.isna(z):
        return "missing", ""
    if z >= CLOSE_TO_MEDIAN:
        return "better", "▲"
    if z <= -CLOSE_TO_MEDIAN:
        return "worse", "▼"
    return "typical", "≈"


def _rank(label, low, high, field_size: int) -> Rank | None:
    if label is None or pd.isna(label):
        return None
    return Rank(f"{label} of {field_size:,}", f"90% interval {int(low)}–{int(high)}")


# ---------------------------------------------------------------- reading the marts


def _stations(conn: psycopg.Connection, year: int, province: str | None) -> pd.DataFrame:
    return frame(conn, """
        select r.*, p.province_name,
               count(*) filter (where r.is_ranked) over () as ranked_nationally,
               count(*) filter (where r.is_ranked) over (partition by r.province_code) as ranked_in_province,
               m.index_median
        from rpt_unit_rankings as r
        join dim_province as p using (province_code)
        left join (select peer_group, percentile_cont(0.5) within group (order by index_score) as index_median
                   from rpt_unit_rankings where year = %(year)s and is_ranked group by peer_group) as m
            using (peer_group)
        where r.year = %(year)s
        order by r.province_code, r.district_name, r.unit_code""", {"year": year}).pipe(
        lambda f: f if province is None else f[f["province_code"] == province])


def _pillar_medians(conn: psycopg.Connection, year: int, config: ScoringConfig) -> pd.DataFrame:
    columns = ", ".join(f"percentile_cont(0.5) within group (order by {p.name}_score) as {p.name}_score"
                        for p in config.pillars)
    return frame(conn, f"select peer_group, {columns} from rpt_unit_rankings where year = %s and is_ranked "
                       f"group by peer_group order by peer_group", (year,)).set_index("peer_group")


def _indicators(conn: psycopg.Connection, year: int, province: str | None) -> pd.DataFrame:
    return frame(conn, """
        select unit_code, indicator_code, raw_value, z_score, months_used
        from rpt_unit_scores
        where year = %(year)s and (%(province)s::text is null or province_code = %(province)s)
        order by unit_code, indicator_code""", {"year": year, "province": province})


def _indicator_medians(conn: psycopg.Connection, year: int) -> dict[tuple[str, str], float]:
    """Each peer group's median of each indicator, over every station of the group nationally."""
    rows = conn.execute("""
        select peer_group, indicator_code, percentile_cont(0.5) within group (order by raw_value)
        from rpt_unit_scores where year = %s group by peer_group, indicator_code
        order by peer_group, indicator_code""", (year,)).fetchall()
    return {(group, code): float(median) for group, code, median in rows}


def _notes(conn: psycopg.Connection, year: int, province: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    params = {"year": year, "province": province}
    flags = frame(conn, """
        select unit_code, flag, months_flagged, first_month, last_month, is_serious
        from rpt_integrity_flags_unit_year
        where year = %(year)s and (%(province)s::text is null or province_code = %(province)s)
        order by unit_code, is_serious desc, flag""", params)
    warnings = frame(conn, """
        select unit_code, rule, count(*) as warnings, count(distinct month) as months, min(message) as example
        from rpt_unit_month_warnings
        where month >= make_date(%(year)s, 1, 1) and month < make_date(%(year)s + 1, 1, 1)
          and (%(province)s::text is null or province_code = %(province)s)
        group by unit_code, rule order by unit_code, count(*) desc, rule""", params)
    return flags, warnings


def _flag_line(row) -> str:
    months = (f"{row.first_month:%b %Y}" if row.months_flagged == 1
              else f"{row.months_flagged} months, the first in {row.first_month:%b}, the last in {row.last_month:%b %Y}")
    serious = " (serious: no award while it stands)" if row.is_serious else ""
    return f"{FLAG_LABELS.get(row.flag, row.flag)}: {months}{serious}"


def _warning_line(row, titles: dict[str, str]) -> str:
    times = f"{row.warnings} warnings in {row.months} months" if row.warnings > 1 else "1 warning"
    example = row.example if len(row.example) <= 90 else row.example[:89] + "…"
    return f"{titles.get(row.rule, row.rule)} ({row.rule}): {times}, e.g. “{example}”"


def read_scorecards(conn: psycopg.Connection, year: int, config: ScoringConfig,
                    province: str | None = None) -> list[Scorecard]:
    """The scorecards of the year's stations (of one province, or all), from the marts the connection reads."""
    stations = _stations(conn, year, province)
    if stations.empty:
        raise LookupError(f"no station was scored for {year}" + (f" in {province}" if province else "")
                          + ": refresh the rankings first (cop rank)")
    medians = _pillar_medians(conn, year, config)
    indicators = {code: rows.set_index("indicator_code") for code, rows in
                  _indicators(conn, year, province).groupby("unit_code")}
    peer_medians = _indicator_medians(conn, year)
    titles = {code: rule.title for code, rule in load_form().rules.items()}
    flags, warnings = _notes(conn, year, province)
    flags, warnings = dict(list(flags.groupby("unit_code"))), dict(list(warnings.groupby("unit_code")))
    cards = []
    for row in stations.itertuples():
        scored = indicators.get(row.unit_code, pd.DataFrame(columns=["raw_value"]))
        notes = ([_flag_line(f) for f in flags[row.unit_code].itertuples()] if row.unit_code in flags else [])
        notes += ([_warning_line(w, titles) for w in warnings[row.unit_code].itertuples()]
                  if row.unit_code in warnings else [])
        card = Scorecard(
            unit_code=row.unit_code, unit_name=row.unit_name, province_code=row.province_code,
            province_name=row.province_name, district_name=row.district_name or "", peer_group=row.peer_group,
            population=int(row.population), months_expected=int(row.months_expected),
            months_reported=int(row.months_reported), is_ranked=bool(row.is_ranked),
            not_ranked_reason=row.not_ranked_reason, index_score=_value(row.index_score),
            peer_index_median=_value(row.index_median),
            national=_rank(row.rank_label, row.rank_low, row.rank_high, int(row.ranked_nationally)),
            provincial=_rank(row.province_rank_label, row.province_rank_low, row.province_rank_high,
                             int(row.ranked_in_province)),
            awards=[label for flag, label in ((row.national_award, "National award"),
                                              (row.province_award, "Provincial award")) if flag],
            pillars=[PillarLine(p.label, _value(getattr(row, f"{p.name}_score")),
                                _value(medians[f"{p.name}_score"].get(row.peer_group)) if not medians.empty else None)
                     for p in config.pillars],
            indicators=[_indicator_line(i, scored, peer_medians.get((row.peer_group, i.code)))
                        for i in config.indicators])
        card.flags = notes[:MAX_NOTES]
        card.more_notes = max(0, len(notes) - MAX_NOTES)
        cards.append(card)
    return cards


def _value(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _indicator_line(indicator: Indicator, scored: pd.DataFrame, peer_median: float | None) -> IndicatorLine:
    row = scored.loc[indicator.code] if indicator.code in scored.index else None
    get = (lambda column: None) if row is None else (lambda column: _value(row[column]))
    verdict, marker = _verdict(get("z_score"))
    months = get("months_used")
    return IndicatorLine(indicator.label, indicator.pillar, _format(get("raw_value"), indicator),
                         _format(peer_median, indicator), int(months) if months else None, verdict, marker)


# ---------------------------------------------------------------- rendering


def render_pack(pack: ProvincePack, config: ScoringConfig) -> str:
    return _environment().get_template("scorecards.html").render(pack=pack, config=config)


@dataclass(frozen=True)
class WrittenPack:
    province_code: str
    stations: int
    pack: Path
    seconds: float


def write_province_pack(pack: ProvincePack, config: ScoringConfig, folder: Path) -> WrittenPack:
    """The province pack (one PDF, one page per station), and each station's HTML and PDF beside it."""
    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    document = pdf_document(render_pack(pack, config)).render()
    if len(document.pages) != len(pack.cards):
        raise RuntimeError(f"{pack.province_code}: {len(pack.cards)} scorecards laid out on "
                           f"{len(document.pages)} pages; a scorecard must fit one page")
    document.write_pdf(folder / pack_name(pack.year, pack.province_code))
    for number, card in enumerate(pack.cards):
        if not UNIT_CODE.match(card.unit_code):
            raise ValueError(f"unexpected unit code {card.unit_code!r}: not written")
        single = ProvincePack(pack.year, pack.province_code, pack.province_name, [card], pack.generated_on, pack.run_id)
        (folder / f"{card.unit_code}.html").write_text(render_pack(single, config), encoding="utf-8")
        document.copy([document.pages[number]]).write_pdf(folder / f"{card.unit_code}.pdf")
    return WrittenPack(pack.province_code, len(pack.cards), folder / pack_name(pack.year, pack.province_code),
                       round(time.perf_counter() - started, 1))


def latest_scored_year(conn: psycopg.Connection) -> int:
    year = conn.execute("select max(year) from rpt_unit_rankings").fetchone()[0]
    if year is None:
        raise LookupError("no rankings in the warehouse yet: run `cop rank` (or the warehouse build) first")
    return year


def write_scorecards(year: int | None = None, provinces: list[str] | None = None,
                     out_dir: Path | None = None) -> list[WrittenPack]:
    """Every station's scorecard of `year` (None: the latest scored year), a pack per province, from the
    current marts. Returns what was written per province, with the seconds it took."""
    config = load_scoring()
    with db.connect_as(TRANSFORM_ROLE) as conn:
        read_current(conn)
        year = latest_scored_year(conn) if year is None else year
        cards = read_scorecards(conn, year, config)
        run_id = conn.execute("select max(run_id) from rpt_unit_rankings where year = %s", (year,)).fetchone()[0]
    generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    written = []
    for code in dict.fromkeys(c.province_code for c in cards):
        if provinces and code not in provinces:
            continue
        mine = [c for c in cards if c.province_code == code]
        pack = ProvincePack(year, code, mine[0].province_name, mine, generated, run_id)
        folder = (Path(out_dir) / str(year) / code) if out_dir else scorecard_dir(year, code)
        written.append(write_province_pack(pack, config, folder))
    return written
