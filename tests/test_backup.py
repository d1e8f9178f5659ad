"""Backups: the restore drill (back up a real warehouse, restore it into a fresh COP_HOME with its own
server, rebuild, and the marts and the latest report match the original), and the backup folder's
guards (damaged files, retention, refusing to overwrite a warehouse in use)."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re

import psycopg
import pytest
from psycopg import sql

from cop import db
from hub import backup
from cop.build import build
from hub.generate import generate_returns, read_manifest, submit_generated
from publishing.annual import build_report, export_columns, render_html, write_rankings_csv
from publishing.config import load_scoring
from publishing.rankings import refresh_rankings
from publishing.source import read_current

pytestmark = pytest.mark.skipif(bool(os.environ.get("COP_DATABASE_URL")),
                                reason="restores into a fresh home's embedded server")
PROVINCES = ("IC", "GB", "AJ")   # the three smallest: a real year of returns through the intake in seconds


def marts_fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """Every marts relation: (rows, md5 of its rows in a fixed order), without the columns that only say
    when a row was computed."""
    fingerprint = {}
    with psycopg.connect(url) as conn:
        relations = conn.execute("select table_name from information_schema.tables where table_schema = 'marts'"
                                 " order by 1").fetchall()
        for (name,) in relations:
            columns = [row[0] for row in conn.execute(
                "select column_name from information_schema.columns where table_schema = 'marts' and"
                " table_name = %s and column_name not in ('computed_at', 'built_at', 'run_id', 'scored_at', 'dbt_updated_at')"
                " order by ordinal_position", (name,))]
            row_text = sql.SQL("concat_ws('|', {})").format(sql.SQL(", ").join(map(sql.Identifier, columns)))
            count, digest = conn.execute(sql.SQL("select count(*), md5(coalesce(string_agg({row}, E'\\n' order by"
                                                 " {row}), '')) from marts.{table}").format(
                row=row_text, table=sql.Identifier(name))).fetchone()
            fingerprint[name] = (count, digest)
    return fingerprint


def latest_report(year: int, out) -> dict[str, str]:
    """The year's rankings refreshed, then the annual report's HTML (the source of its PDF) and the rankings
    CSV, with the ranking run's own id masked."""
    refresh_rankings(year=year)
    config = load_scoring()
    with db.connect() as conn:
        read_current(conn)
        report = build_report(conn, year, config)   # a draft from the current marts, as `cop report` writes it
    html = re.sub(r"run \d+", "run <id>", render_html(report))
    out.mkdir(parents=True, exist_ok=True)
    csv = write_rankings_csv(report.rankings, out / "rankings.csv", export_columns(config))
    return {"html": html, "rankings": csv.read_text("utf-8")}


def landing_files(home) -> set[str]:
    """The sha256 of every landed file, from its bytes (files are named by it)."""
    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in (home / "landing").rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def original(tmp_path_factory, database_url):
    """A year of returns for three provinces through the real intake, built, ranked, reported and backed up."""
    work = tmp_path_factory.mktemp("drill")
    samples = work / "samples"
    generate_returns(samples, years=1, seed=11, end=dt.date(2025, 12, 1))
    with db.temporary_database("drill") as url:
        for entry in read_manifest(samples):
            if entry.province in PROVINCES:
                submit_generated(samples, entry, channel="test")
        result = build()
        assert result.success, result.failure_report()
        year = refresh_rankings(year=None).year
        report = latest_report(year, work / "a")
        yield {"url": url, "year": year, "report": report, "marts": marts_fingerprint(url),
               "backup": backup.backup(work / "backups"), "work": work}


def test_restore_drill_rebuilds_the_same_marts_and_report(original, monkeypatch):
    home_b = original["work"] / "home_b"
    monkeypatch.setenv("COP_HOME", str(home_b))
    monkeypatch.delenv("COP_DATABASE_URL", raising=False)
    try:
        url_b = db.start()
        backup.restore(original["backup"].path)
        result = build(full_refresh=True)
        assert result.success, result.failure_report()
        report = latest_report(original["year"], original["work"] / "b")
        assert report["html"] == original["report"]["html"]
        assert report["rankings"].splitlines() == original["report"]["rankings"].splitlines()
        assert marts_fingerprint(url_b) == original["marts"]
        with psycopg.connect(url_b) as conn:
            received = dict(conn.execute("select sha256, count(*) from raw.submissions group by 1").fetchall())
        assert received and set(received) <= set(landing_files(home_b)), "every file received is back, by sha256"
    finally:
        db.stop()


def test_backups_are_kept_to_the_newest_n_and_checked_before_a_restore(database_url, tmp_path, monkeypatch):
    from hub.orchestration import backup_warehouse

    monkeypatch.setenv("COP_BACKUP_DIR", str(tmp_path / "backups"))
    first = backup_warehouse(keep=2)
    backup_warehouse(keep=2)
    third = backup_warehouse(keep=2)
    kept = backup.list_backups()
    assert len(kept) == 2 and first["backup"] not in map(str, kept) and third["backup"] == str(kept[-1])
    assert "****" in third["database"], "the manifest never holds the password"
    assert oct(kept[-1].stat().st_mode & 0o777) == "0o700"

    with psycopg.connect(database_url) as conn:
        held = conn.execute("select count(*) from raw.submissions").fetchone()[0]
    if held:
        with pytest.raises(backup.BackupError, match="already holds .* submissions"):
            backup.restore(kept[-1])
    (kept[-1] / backup.DUMP).write_bytes(b"damaged")
    with pytest.raises(backup.BackupError, match="missing or damaged"):
        backup.restore(kept[-1], force=True)
    with pytest.raises(backup.BackupError, match="not a backup folder"):
        backup.restore(tmp_path)
