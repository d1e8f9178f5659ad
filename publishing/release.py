"""Releases: a year's figures frozen at a cut-off, from which the annual report, the rankings and the awards
are published, and which never change afterwards.

create_release(2025) builds the warehouse, scores the year (a new scoring run; earlier runs stay), then, in
one REPEATABLE READ transaction, checks that the marts hold exactly the versions current in raw, and copies
into the release: the version of each province-month current at the cut-off (with its review state), the
scoring run, the spec and scoring config hashes, and release-keyed copies of the marts the report reads
(publishing.source.REPORT_TABLES: facts, completeness, scores, rankings, awards, and the dimensions) with a
checksum of each. Everything under the schema `releases` is append-only (triggers, cop/sql/041_releases.sql).

write_release_report() produces the report and rankings from the release alone; the first time it records
each file's sha256, later runs must give the same bytes or fail. revisions_since() lists the province-months
whose current version is no longer the one the release froze.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from cop import db
from cop.paths import state_dir
from cop.security import TRANSFORM_ROLE
from publishing.source import REPORT_TABLES, ReleaseSource


class ReleaseError(RuntimeError):
    """The release cannot be created or reproduced; the message says why and what to do."""


@dataclass(frozen=True)
class Release:
    release_id: int
    year: int
    label: str
    cut_off: dt.datetime
    created_at: dt.datetime
    created_by: str
    scoring_run_id: int
    spec_sha256: str
    scoring_config_sha256: str
    note: str | None

    @property
    def source(self) -> ReleaseSource:
        return ReleaseSource(self.release_id, self.label, self.year, self.cut_off.astimezone(dt.timezone.utc))


@dataclass(frozen=True)
class Revision:
    province_code: str
    period: dt.date
    released_submission_id: int | None
    released_version: int | None
    current_submission_id: int
    current_version: int


_RELEASE_COLUMNS = ("release_id, year, label, cut_off, created_at, created_by, scoring_run_id, spec_sha256, "
                    "scoring_config_sha256, note")


# ---------------------------------------------------------------- reading releases


def list_releases(year: int | None = None) -> list[Release]:
    with db.connect_as(TRANSFORM_ROLE) as conn:
        rows = conn.execute(f"select {_RELEASE_COLUMNS} from releases.releases "
                            "where %s::integer is null or year = %s order by release_id", (year, year)).fetchall()
    return [Release(*row) for row in rows]


def get_release(key: str | int) -> Release:
    """A release by id (42) or label (2025-r1)."""
    text = str(key).strip()
    column = "release_id" if text.isdigit() else "label"
    with db.connect_as(TRANSFORM_ROLE) as conn:
        row = conn.execute(sql.SQL("select {} from releases.releases where {} = %s").format(
            sql.SQL(_RELEASE_COLUMNS), sql.Identifier(column)), (int(text) if text.isdigit() else text,)).fetchone()
    if row is None:
        raise ReleaseError(f"there is no release '{text}'; `cop release list` shows them")
    return Release(*row)


def table_checksums(release_id: int) -> dict[str, tuple[int, str]]:
    """{table: (rows, sha256)} of the release's frozen tables, computed now from their rows."""
    with db.connect_as(TRANSFORM_ROLE) as conn:
        return {table: _checksum(conn, table, release_id) for table in REPORT_TABLES}


def revisions_since(key: str | int) -> list[Revision]:
    """Province-months of the release's year whose current version differs from the one it froze."""
    release = get_release(key)
    with db.connect_as(TRANSFORM_ROLE) as conn:
        rows = conn.execute("""
            select s.province_code, s.period, r.submission_id, r.version, s.current_submission_id,
                   s.current_version
            from review.month_states(make_date(%(year)s, 1, 1), make_date(%(year)s, 12, 1), now()) as s
            left join releases.submissions as r
              on r.release_id = %(id)s and r.province_code = s.province_code and r.period = s.period
            where s.current_submission_id is distinct from r.submission_id and s.current_submission_id is not null
            order by s.province_code, s.period""", {"year": release.year, "id": release.release_id}).fetchall()
    return [Revision(*row) for row in rows]


# ---------------------------------------------------------------- creating a release


def create_release(year: int, created_by: str, note: str | None = None, build: bool = True,
                   draws: int | None = None) -> Release:
    """Build, score (Monte Carlo `draws`, default spec/scoring.yaml) and freeze `year`; returns the new release."""
    from publishing.rankings import RankingError, refresh_rankings

    if build:
        _build_warehouse()
    try:
        run = refresh_rankings(year=year, draws=draws)
    except RankingError as exc:
        raise ReleaseError(f"cannot release {year}: {exc}") from exc
    with db.connect_as(TRANSFORM_ROLE) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            _check_marts_are_current(conn, year, run.run_id)
            release_id = _insert_release(conn, year, created_by, note, run.run_id)
            for table, where in REPORT_TABLES.items():
                _freeze_table(conn, table, where, release_id, year)
    return get_release(release_id)


def _build_warehouse() -> None:
    from cop.build import build

    result = build()
    if not result.success:
        raise ReleaseError(f"the warehouse build failed, so nothing was released:\n{result.failure_report()}")


def _check_marts_are_current(conn: psycopg.Connection, year: int, run_id: int) -> None:
    behind = conn.execute("""
        select s.province_code, to_char(s.period, 'YYYY-MM')
        from review.month_states(make_date(%(year)s - 1, 1, 1), make_date(%(year)s, 12, 1), now()) as s
        left join marts.rpt_reporting_completeness as c on c.province_code = s.province_code and c.month = s.period
        where s.current_submission_id is distinct from c.latest_submission_id""", {"year": year}).fetchall()
    if behind:
        months = ", ".join(f"{p} {m}" for p, m in behind[:10])
        raise ReleaseError(f"the warehouse does not hold the current version of {len(behind)} month(s) ({months}): "
                           f"a file arrived during the release, or the build was skipped; run it again")
    runs = {row[0] for row in conn.execute("select distinct run_id from marts.rpt_unit_rankings where year = %s",
                                           (year,))}
    if runs != {run_id}:
        raise ReleaseError(f"the ranking marts of {year} show scoring run(s) {sorted(runs)}, not run {run_id}: "
                           f"another scoring ran meanwhile; run the release again")


def _insert_release(conn: psycopg.Connection, year: int, created_by: str, note: str | None, run_id: int) -> int:
    from cop.reference import _spec_fingerprint
    from publishing.config import load_scoring

    # Two releases made at once must not take the same number: one at a time (advisory locks are no
    # platform role's to take, cop/sql/070; the releases table is cop_transform's own).
    conn.execute("lock table releases.releases in share row exclusive mode")
    number = conn.execute("select count(*) + 1 from releases.releases where year = %s", (year,)).fetchone()[0]
    release_id = conn.execute(
        "insert into releases.releases (year, label, cut_off, created_by, scoring_run_id, spec_sha256, "
        "scoring_config_sha256, note) values (%s, %s, now(), %s, %s, %s, %s, %s) returning release_id",
        (year, f"{year}-r{number}", created_by, run_id, _spec_fingerprint(), load_scoring().sha256, note)
    ).fetchone()[0]
    conn.execute("""
        insert into releases.submissions (release_id, province_code, period, submission_id, version, review_state,
                                          is_locked)
        select %(id)s, province_code, period, current_submission_id, current_version, review_state, is_locked
        from review.month_states(make_date(%(year)s, 1, 1), make_date(%(year)s, 12, 1), now())
        where current_submission_id is not null""", {"id": release_id, "year": year})
    return release_id


def _freeze_table(conn: psycopg.Connection, table: str, where: str | None, release_id: int, year: int) -> None:
    columns = _ensure_release_table(conn, table)
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    condition = sql.SQL(where) if where else sql.SQL("true")
    conn.execute(sql.SQL("insert into releases.{table} (release_id, {names}) select %(id)s, {names} "
                         "from marts.{table} where {condition}").format(
        table=sql.Identifier(table), names=names, condition=condition), {"id": release_id, "year": year})
    rows, digest = _checksum(conn, table, release_id)
    conn.execute("insert into releases.tables (release_id, table_name, row_count, sha256) values (%s, %s, %s, %s)",
                 (release_id, table, rows, digest))


def _ensure_release_table(conn: psycopg.Connection, table: str) -> list[str]:
    """releases.<table>: release_id and every column the mart has now (a column the mart gained since the
    last release is added; earlier releases read it as null). Returns the mart's columns."""
    if conn.execute("select to_regclass(%s)", (f"marts.{table}",)).fetchone()[0] is None:
        raise ReleaseError(f"the warehouse has no mart {table}: build it first")
    mart = conn.execute("select attname, format_type(atttypid, atttypmod) from pg_attribute "
                        "where attrelid = to_regclass(%s) and attnum > 0 and not attisdropped order by attnum",
                        (f"marts.{table}",)).fetchall()
    target = sql.Identifier("releases", table)
    exists = conn.execute("select to_regclass(%s)", (f"releases.{table}",)).fetchone()[0]
    if exists is None:
        conn.execute(sql.SQL("create table {} (release_id bigint not null references releases.releases)").format(target))
        conn.execute(sql.SQL("create index on {} (release_id)").format(target))
        for trigger, when in (("append_only", "before update or delete"), ("no_truncate", "before truncate")):
            # per statement: refused even when it would match no row
            conn.execute(sql.SQL("create trigger {} " + when + " on {} for each statement"
                                 " execute function releases.refuse_change()").format(sql.Identifier(trigger), target))
        conn.execute(sql.SQL("grant select on {} to cop_marts_reader").format(target))
    have = {row[0] for row in conn.execute("select column_name from information_schema.columns "
                                           "where table_schema = 'releases' and table_name = %s", (table,))}
    for name, data_type in mart:
        if name not in have:
            conn.execute(sql.SQL("alter table {} add column {} " + data_type).format(target, sql.Identifier(name)))
    if "province_code" in dict(mart) and exists is None:
        conn.execute(sql.SQL("alter table {} enable row level security").format(target))
        conn.execute(sql.SQL("create policy province_rows on {} for select using ("
                             "(select security.sees_all_provinces()) "
                             "or province_code = any ((select security.visible_provinces())::text[]))").format(target))
    return [name for name, _ in mart]


def _checksum(conn: psycopg.Connection, table: str, release_id: int) -> tuple[int, str]:
    return conn.execute(sql.SQL(
        "select count(*), encode(sha256(convert_to(coalesce(string_agg(t::text, E'\\n' order by t::text), ''), "
        "'UTF8')), 'hex') from releases.{} as t where release_id = %s").format(sql.Identifier(table)),
        (release_id,)).fetchone()


# ---------------------------------------------------------------- publishing from a release


def write_release_report(key: str | int, out_dir: Path | None = None) -> dict[str, Path]:
    """The annual report and rankings of a release, from its frozen tables only. The first time, each
    file's sha256 is recorded with the release; afterwards a regenerated file must be byte-identical."""
    from publishing.annual import write_annual_report

    release = get_release(key)
    out_dir = Path(out_dir or state_dir("reports") / f"release-{release.label}")
    out_dir.mkdir(parents=True, exist_ok=True)
    # Written aside first: a file that differs from the published one must not replace it.
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".writing-") as scratch:
        written = write_annual_report(year=release.year, out_dir=Path(scratch), release=release.source)
        for path in written.values():
            if path.suffix == ".xlsx":
                pin_zip_times(path, release.cut_off)
        _record_or_compare(release, written)
        return {label: path.replace(out_dir / path.name) for label, path in written.items()}


def _record_or_compare(release: Release, written: dict[str, Path]) -> None:
    with db.connect_as(TRANSFORM_ROLE, autocommit=True) as conn:
        published = dict(conn.execute("select file_name, sha256 from releases.outputs where release_id = %s",
                                      (release.release_id,)).fetchall())
        for path in written.values():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if path.name not in published:
                conn.execute("insert into releases.outputs (release_id, file_name, sha256, bytes) "
                             "values (%s, %s, %s, %s)", (release.release_id, path.name, digest, path.stat().st_size))
            elif published[path.name] != digest:
                raise ReleaseError(f"{path} differs from the {path.name} published with release {release.label} "
                                   f"(sha256 {published[path.name][:12]}...): the release's tables or the report code "
                                   f"changed")


_CORE_TIMES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def pin_zip_times(path: Path, moment: dt.datetime) -> None:
    """An XLSX written twice differs only in its timestamps (zip entries, docProps/core.xml): set them all to
    `moment`, so the same figures give the same bytes."""
    stamp = moment.astimezone(dt.timezone.utc)
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    source = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _CORE_TIMES.sub(lambda m: m.group(1) + iso + m.group(2), data)
            pinned = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            pinned.compress_type, pinned.external_attr = zipfile.ZIP_DEFLATED, info.external_attr
            target.writestr(pinned, data)
    path.write_bytes(buffer.getvalue())
