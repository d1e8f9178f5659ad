"""The annual report's "from the field" pages (form v2): the harm the year brought and the recoveries, and the
stories the federal desk marked publishable, per province.

Figures come from marts.fct_unit_month (a v2 indicator is NULL, "not collected", in v1 months: a year before
v2 shows "not collected", never 0); stories from marts.fct_unit_month_narrative, publishable ones only, the
most recent first. Texts are handed to the template as they are: it escapes them and sets their direction.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

import psycopg
from psycopg import sql

from cop.spec import load_form

HARM_GROUP = "harm"
RECOVERED, STOLEN = "stolen_vehicles_recovered", "vehicle_theft"
STORIES_PER_KIND = {"success_story": 2, "achievement": 3, "challenge": 3}


@dataclass(frozen=True)
class Story:
    month: str
    unit_name: str
    kind: str
    text: str

    @property
    def direction(self) -> str:
        """'rtl' when the text's first strong character is right-to-left (Urdu), else 'ltr' (HTML dir=auto)."""
        for char in self.text:
            kind = unicodedata.bidirectional(char)
            if kind in ("R", "AL"):
                return "rtl"
            if kind == "L":
                return "ltr"
        return "ltr"


@dataclass(frozen=True)
class HarmRow:
    label: str
    previous: float | None    # None: not collected in that year
    current: float | None


@dataclass(frozen=True)
class ProvinceStories:
    code: str
    name: str
    stories: dict[str, list[Story]]   # kind -> the stories printed


@dataclass(frozen=True)
class FieldSection:
    """The report's pages "Safety: harm and recovery" and "From the field"."""
    harm: list[HarmRow]
    stories: list[ProvinceStories]
    kinds: list[tuple[str, str]]      # (narrative kind, its label), in the order printed
    v2_start: dt.date                 # the first month form v2 collects these figures and stories


def field_section(conn: psycopg.Connection, year: int, names: dict[str, str]) -> FieldSection:
    """Harm and recovery figures, and each province's publishable stories."""
    form = load_form()
    labels = {n.name: n.label for n in form.narratives}
    return FieldSection(harm=harm_and_recovery(conn, year), stories=publishable_stories(conn, year, names),
                        kinds=[(kind, labels[kind]) for kind in STORIES_PER_KIND], v2_start=form.versions[-1].start)


def harm_and_recovery(conn: psycopg.Connection, year: int) -> list[HarmRow]:
    form = load_form()
    harm = [f for f in form.fields if f.group == HARM_GROUP]
    sums = sql.SQL(", ").join(
        sql.SQL("sum({name}) filter (where extract(year from month) = %(year)s - {back})").format(
            name=sql.Identifier(name), back=sql.Literal(back))
        for name in [*(f.name for f in harm), RECOVERED] for back in (1, 0))
    stolen_when_recovered = sql.SQL(", ").join(
        sql.SQL("sum({stolen}) filter (where extract(year from month) = %(year)s - {back} and {recovered} is not null)")
        .format(stolen=sql.Identifier(STOLEN), recovered=sql.Identifier(RECOVERED), back=sql.Literal(back))
        for back in (1, 0))
    row = conn.execute(sql.SQL("select {}, {} from fct_unit_month where month >= make_date(%(year)s - 1, 1, 1) "
                               "and month < make_date(%(year)s + 1, 1, 1)").format(sums, stolen_when_recovered),
                       {"year": year}).fetchone()
    values = [None if v is None else float(v) for v in row]
    pairs = [values[i:i + 2] for i in range(0, len(values), 2)]
    rows = [HarmRow(f.label, *pair) for f, pair in zip(harm, pairs)]
    recovered, stolen = pairs[len(harm)], pairs[len(harm) + 1]
    rows.append(HarmRow(form.field(RECOVERED).label, *recovered))
    rows.append(HarmRow("Stolen vehicles recovered per 100 reported stolen",
                        *(None if r is None or not s else 100 * r / s for r, s in zip(recovered, stolen))))
    return rows


def publishable_stories(conn: psycopg.Connection, year: int, names: dict[str, str]) -> list[ProvinceStories]:
    """The provinces with at least one publishable story, each with its stories by kind."""
    rows = conn.execute("""
        select n.province_code, to_char(n.month, 'Mon YYYY'), coalesce(u.unit_name, n.unit_code),
               n.narrative_code, n.text,
               row_number() over (partition by n.province_code, n.narrative_code
                                  order by n.month desc, n.unit_code) as place
        from fct_unit_month_narrative as n
        left join dim_unit as u on u.unit_version_key = n.unit_version_key
        where n.is_publishable and n.month >= make_date(%s, 1, 1) and n.month < make_date(%s + 1, 1, 1)
        order by n.province_code, n.month desc, n.unit_code""", (year, year)).fetchall()
    by_province: dict[str, dict[str, list[Story]]] = {}
    printed: set[tuple[str, str]] = set()   # a text copied from month to month is printed once
    for province, month, unit_name, kind, text, place in rows:
        if place <= STORIES_PER_KIND.get(kind, 0) and (province, text) not in printed:
            printed.add((province, text))
            by_province.setdefault(province, {}).setdefault(kind, []).append(Story(month, unit_name, kind, text))
    return [ProvinceStories(code, names.get(code, code), by_province[code]) for code in names if code in by_province]
