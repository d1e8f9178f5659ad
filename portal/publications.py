"""What the agency publishes for the provinces: each station's scorecard (publishing/scorecards.py) and the
monthly national bulletin (publishing/bulletin.py), to download.

A province user gets only its own province's scorecards, twice over: the portal refuses another
province's pages (web.ensure_province_access), and the stations are looked up in the marts as the
province's own database reader (SET LOCAL ROLE province_reader_xx, cop/sql/086), so row-level security
hides every other province's stations whatever the URL says. A file's path is built from what the
database returned, never from the URL. Federal staff read every province. The bulletin is national:
every signed-in user may download it. Every download goes to the audit log.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse
from psycopg import sql

from cop import db
from cop.registry import load_registry
from cop.security import PORTAL_ROLE, province_reader_role
from portal import accounts
from portal.web import Refused, client_ip, current_session, ensure_province_access, render
from publishing.bulletin import STEM_PREFIX, bulletin_dir
from publishing.scorecards import pack_name, scorecard_dir, scorecards_root

router = APIRouter()
BULLETIN_FILE = re.compile(r"^" + STEM_PREFIX + r"(\d{4}-\d{2})\.(pdf|html)$")
MEDIA = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}


@dataclass(frozen=True)
class Station:
    unit_code: str
    unit_name: str
    district_name: str | None
    province_code: str


def _stations(session: accounts.Session, year: int, province: str | None = None,
              unit_code: str | None = None) -> list[Station]:
    """The year's scored stations the account may see: as the province's database reader for a province
    user (row-level security), as the portal (every province) for federal staff."""
    with db.connect_as(PORTAL_ROLE) as conn, conn.transaction():
        if not session.user.is_federal:
            conn.execute(sql.SQL("set local role {}").format(
                sql.Identifier(province_reader_role(session.user.province_code))))
        rows = conn.execute(
            "select unit_code, unit_name, district_name, province_code from marts.rpt_unit_rankings "
            "where year = %(year)s and (%(province)s::text is null or province_code = %(province)s) "
            "and (%(unit)s::text is null or unit_code = %(unit)s) order by district_name, unit_name, unit_code",
            {"year": year, "province": province, "unit": unit_code}).fetchall()
    return [Station(*row) for row in rows]


def _scorecard_years() -> list[int]:
    folder = scorecards_root()
    return sorted((int(p.name) for p in folder.iterdir() if p.name.isdigit()), reverse=True) if folder.exists() else []


def _bulletins() -> list[tuple[str, Path]]:
    folder = bulletin_dir()
    found = [(match.group(1), path) for path in (folder.glob("*.pdf") if folder.exists() else [])
             if (match := BULLETIN_FILE.match(path.name))]
    return sorted(found, reverse=True)


def _known_province(code: str) -> str:
    if code not in load_registry().province_codes:
        raise Refused("There is no such province.", status_code=404, audit_action="access.unknown_province",
                      detail={"province": code[:10]})
    return code


def _send(request: Request, session: accounts.Session, path: Path, kind: str, detail: dict) -> FileResponse:
    if not path.is_file():
        raise Refused("That file has not been published.", status_code=404, audit_action="access.unknown_file",
                      detail=detail)
    accounts.audit(None, session.user.username, f"download.{kind}", {**detail, "file": path.name}, client_ip(request))
    if path.suffix == ".html":
        return FileResponse(path, media_type=MEDIA["html"])
    return FileResponse(path, media_type=MEDIA["pdf"], filename=path.name)


@router.get("/publications")
def publications_home(request: Request):
    """A province user's own publications page; federal staff start at the first province."""
    session = current_session(request)
    code = session.user.province_code or load_registry().province_codes[0]
    return RedirectResponse(f"/provinces/{code}/publications", status_code=303)


@router.get("/provinces/{code}/publications")
def publications_page(request: Request, code: str, year: int | None = None):
    session = current_session(request)
    code = _known_province(code)
    ensure_province_access(session, code, "scorecards")
    years = _scorecard_years()
    year = year if year in years else (years[0] if years else None)
    stations = _stations(session, year, code) if year else []
    pack = scorecard_dir(year, code) / pack_name(year, code) if year else None
    registry = load_registry()
    return render(request, "publications.html", province=registry.province(code), years=years, year=year,
                  provinces=[registry.province(c) for c in registry.province_codes] if session.user.is_federal else [],
                  stations=stations, pack=pack if pack and pack.is_file() else None, bulletins=_bulletins())


@router.get("/provinces/{code}/scorecards/{year}/{name}")
def scorecard_file(request: Request, code: str, year: int, name: str):
    """The province pack (`pack.pdf`) or one station's scorecard (`<UNIT>.pdf` / `<UNIT>.html`)."""
    session = current_session(request)
    code = _known_province(code)
    ensure_province_access(session, code, "scorecards")
    detail = {"province": code, "year": year, "asked": name[:40]}
    if name == "pack.pdf":
        if not _stations(session, year, code):
            raise Refused("No scorecards of that year for your province.", status_code=404,
                          audit_action="access.unknown_file", detail=detail)
        return _send(request, session, scorecard_dir(year, code) / pack_name(year, code), "scorecards", detail)
    unit_code, _, suffix = name.rpartition(".")
    found = _stations(session, year, code, unit_code) if suffix in MEDIA else []
    if not found:   # not a station of this province that the account's database role can see
        raise Refused("There is no such scorecard for your province.", status_code=404,
                      audit_action="access.unknown_file", detail=detail)
    station = found[0]
    return _send(request, session, scorecard_dir(year, station.province_code) / f"{station.unit_code}.{suffix}",
                 "scorecard", detail)


@router.get("/bulletins/{name}")
def bulletin_file(request: Request, name: str):
    session = current_session(request)
    match = BULLETIN_FILE.match(name)
    if match is None:
        raise Refused("There is no such bulletin.", status_code=404, audit_action="access.unknown_file",
                      detail={"asked": name[:40]})
    return _send(request, session, bulletin_dir() / match.group(0), "bulletin", {"month": match.group(1)})
