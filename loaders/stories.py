"""Stories from the field: the narratives of the current returns (form v2) and the federal desk's decision on
which may be published in the annual report.

A decision is on one exact text (its sha256): a revision that changes the text needs a new decision, one that
keeps it keeps its decision. A text that looks like it holds personal data (intake warning W310) cannot be
marked publishable: the province removes it and resends. Decisions are appended to review.story_decisions
(never changed); the latest one counts. marts.fct_unit_month_narrative carries the same decision after a build.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import psycopg

from cop import db
from loaders.approval import ReviewRefused, _reviewer
from cop.security import PORTAL_ROLE

CURRENT_STORIES = """
    with current as (
        select distinct on (province_code, period) submission_id, province_code, period
        from raw.submissions where status = 'accepted'
        order by province_code, period, version desc
    ), latest_decision as (
        select distinct on (unit_code, period, narrative_code, text_sha256)
               unit_code, period, narrative_code, text_sha256, publishable, actor, at
        from review.story_decisions
        order by unit_code, period, narrative_code, text_sha256, at desc, decision_id desc
    ), stories as (
        select c.province_code, c.period, n.unit_code, u.unit_name, n.narrative_code, n.text, n.personal_data,
               encode(sha256(convert_to(n.text, 'UTF8')), 'hex') as text_sha256
        from current c
        join raw.return_narratives n on n.submission_id = c.submission_id
        left join raw.ref_units u on u.unit_code = n.unit_code
            and c.period >= u.valid_from and (u.valid_to is null or c.period <= u.valid_to)
        where c.period between %(first)s and %(last)s
          and (%(province)s::text is null or c.province_code = %(province)s)
          and (%(kind)s::text is null or n.narrative_code = %(kind)s)
    )
    select s.*, d.publishable, d.actor, d.at
    from stories s
    left join latest_decision d using (unit_code, period, narrative_code, text_sha256)
    order by s.period desc, s.province_code, s.unit_code, s.narrative_code
    limit %(limit)s
"""


@dataclass(frozen=True)
class Story:
    province_code: str
    period: dt.date
    unit_code: str
    unit_name: str | None
    narrative_code: str
    text: str
    personal_data: str | None
    text_sha256: str
    publishable: bool | None     # None: not decided yet
    decided_by: str | None
    decided_at: dt.datetime | None


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def list_stories(first: dt.date, last: dt.date, province: str | None = None, kind: str | None = None,
                 limit: int = 500) -> list[Story]:
    """The narratives of the current versions of the months from `first` to `last`, newest month first."""
    with db.connect_as(PORTAL_ROLE) as conn:
        rows = conn.execute(CURRENT_STORIES, dict(first=first, last=last, province=province, kind=kind,
                                                  limit=limit)).fetchall()
    return [Story(*row) for row in rows]


def decide(unit_code: str, period: dt.date, narrative_code: str, sha256: str, publishable: bool,
           reviewer: str, at: dt.datetime | None = None) -> Story:
    """Record the desk's decision on the story's current text; refused (ReviewRefused) when the story is not
    in the current version of its month with that text, or is marked publishable while it looks like it
    holds personal data, or the reviewer is not an enabled federal account."""
    with db.connect_as(PORTAL_ROLE) as conn, conn.transaction():
        _reviewer(conn, reviewer)
        story = _current_story(conn, unit_code, period, narrative_code)
        if story is None or story.text_sha256 != sha256:
            raise ReviewRefused("this story is no longer in the current return of its month (the province has "
                                "sent a new version): reload the page and decide on the text as it is now")
        if publishable and story.personal_data:
            raise ReviewRefused(f"the story looks like it holds {story.personal_data}; it cannot be published "
                                f"until the province removes it and sends the month again")
        conn.execute("insert into review.story_decisions (unit_code, period, narrative_code, text_sha256, "
                     "publishable, actor, at) values (%s, %s, %s, %s, %s, %s, coalesce(%s, now()))",
                     (unit_code, period, narrative_code, sha256, publishable, reviewer, at))
        return _current_story(conn, unit_code, period, narrative_code)


def _current_story(conn: psycopg.Connection, unit_code: str, period: dt.date, narrative_code: str) -> Story | None:
    province = unit_code.split("-", 1)[0]
    rows = conn.execute(CURRENT_STORIES, dict(first=period, last=period, province=province, kind=narrative_code,
                                              limit=100_000)).fetchall()
    return next((Story(*row) for row in rows if row[2] == unit_code), None)


def curate_sample(year: int, reviewer: str, per_province: int = 4) -> int:
    """The demo's federal desk at work: mark the first stories of `year` of each province publishable (success
    stories first; never one that looks like personal data), and one of each province not for publication.
    Returns how many were marked publishable."""
    marked = 0
    found = list_stories(dt.date(year, 1, 1), dt.date(year, 12, 1), limit=100_000)
    order = {"success_story": 0, "achievement": 1, "challenge": 2}
    seen: set[str] = set()   # the sample texts repeat across stations: a reader should not meet one twice
    for province in sorted({s.province_code for s in found}):
        candidates = sorted((s for s in found if s.province_code == province and not s.personal_data),
                            key=lambda s: (order.get(s.narrative_code, 9), s.period, s.unit_code))
        unique = []
        for story in candidates:
            if story.text not in seen:
                seen.add(story.text)
                unique.append(story)
        for index, story in enumerate(unique[:per_province + 1]):
            publishable = index < per_province
            decide(story.unit_code, story.period, story.narrative_code, story.text_sha256, publishable, reviewer)
            marked += publishable
    return marked
