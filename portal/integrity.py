"""The monthly recording-integrity screen for federal reviewers: the flags of the warehouse's
marts.rpt_integrity_flags_unit_month (FIRs falling while complaints hold, copied months, rounded
figures, runs of zeros, constant reporting), each with its evidence. Read from the last warehouse build."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg

from cop import db
from cop.security import PORTAL_ROLE
from publishing.integrity_labels import FLAG_LABELS


@dataclass(frozen=True)
class Flag:
    province_code: str
    unit_code: str
    month: dt.date
    flag: str
    evidence: str

    @property
    def label(self) -> str:
        return FLAG_LABELS.get(self.flag, self.flag)


@dataclass
class Screen:
    built: bool                                   # False: the warehouse has no integrity mart yet
    flags: list[Flag]
    counts: dict[str, dict[str, int]]             # flag -> province -> unit-months flagged

    def total(self, flag: str) -> int:
        return sum(self.counts.get(flag, {}).values())


def integrity_screen(first: dt.date, last: dt.date, province: str | None = None, limit: int = 300) -> Screen:
    """The flags raised for months first..last (the most recent first), and their counts by province."""
    where = "month between %(first)s and %(last)s" + (" and province_code = %(province)s" if province else "")
    parameters = {"first": first, "last": last, "province": province, "limit": limit}
    try:
        with db.connect_as(PORTAL_ROLE) as conn:
            counts: dict[str, dict[str, int]] = {}
            for flag, code, n in conn.execute(f"select flag, province_code, count(*) from "
                                              f"marts.rpt_integrity_flags_unit_month where {where} "
                                              f"group by flag, province_code", parameters):
                counts.setdefault(flag, {})[code] = n
            flags = [Flag(*row) for row in conn.execute(
                f"select province_code, unit_code, month, flag, evidence from marts.rpt_integrity_flags_unit_month "
                f"where {where} order by month desc, flag, province_code, unit_code limit %(limit)s", parameters)]
    except psycopg.errors.UndefinedTable:
        return Screen(False, [], {})
    return Screen(True, flags, counts)
