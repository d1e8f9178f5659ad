"""Where each province's return is fetched from: spec/sources.yaml (or COP_SOURCES_FILE) as data.

A source says how to reach the province's files (its drop folder, an SFTP folder, an HTTPS address
per month or a listing page), which names are its returns, when a file counts as complete, and the
schedule window in which a month is fetched. Credentials are never part of it: a remote source names
an Airflow Connection, resolved only when fetching (hub.fetch).
"""
from __future__ import annotations

import datetime as dt
import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from cop.paths import SPEC_DIR
from cop.registry import UnknownProvince, load_registry
from cop.period import add_months, due_date, format_period, parse_period

SOURCES_FILE_ENV = "COP_SOURCES_FILE"
KINDS = ("drop_folder", "sftp", "https")
IN_PROGRESS_SUFFIXES = (".part", ".tmp", ".filepart", ".partial")
_DEFAULTS = {"grace_days": 5, "settle_seconds": 120, "timeout_seconds": 30}
_KEYS = {"drop_folder": {"kind"},
         "sftp": {"kind", "connection", "folder", "files", "marker", "settle_seconds", "move_to", "grace_days",
                  "timeout_seconds"},
         "https": {"kind", "connection", "url", "listing", "files", "grace_days", "timeout_seconds"}}


class SourceConfigError(ValueError):
    """spec/sources.yaml (or COP_SOURCES_FILE) says something that cannot work; the message says what."""


@dataclass(frozen=True)
class Source:
    province: str
    kind: str = "drop_folder"
    connection: str | None = None
    folder: str | None = None
    url: str | None = None
    listing: str | None = None
    files: str | None = None
    marker: str | None = None
    settle_seconds: int = 120
    move_to: str | None = None
    grace_days: int = 5
    timeout_seconds: float = 30

    @property
    def remote(self) -> bool:
        return self.kind != "drop_folder"

    @property
    def channel(self) -> str:
        """The intake channel its files arrive on."""
        return "inbox" if self.kind == "drop_folder" else self.kind

    def describe(self) -> str:
        if self.kind == "drop_folder":
            return f"drop folder inbox/{self.province}/"
        if self.kind == "sftp":
            return f"sftp://{self.connection}{self.folder.rstrip('/')}/{self.files}"
        if self.url:
            return f"https://{self.connection}{self.url}"
        return f"https://{self.connection}{self.listing} (listing, {self.files})"

    def name_matches(self, name: str, period: str) -> bool:
        """Is `name` this province's return for `period` (and not an upload in progress)?"""
        if name.startswith(".") or name.lower().endswith(IN_PROGRESS_SUFFIXES):
            return False
        if self.marker and name.endswith(self.marker):
            return False
        pattern = self.files.format(province=self.province, period=period)
        return fnmatch.fnmatchcase(name, pattern)

    def window(self, period: str, due_day: int) -> tuple[dt.date, dt.date]:
        """First and last day on which `period` is fetched."""
        month = parse_period(period)
        return add_months(month, 1), due_date(month, due_day) + dt.timedelta(days=self.grace_days)

    def periods_open(self, today: dt.date, due_day: int) -> list[str]:
        """The months whose fetch window contains `today`, oldest first."""
        candidates = [format_period(add_months(today.replace(day=1), -back)) for back in (3, 2, 1)]
        return [p for p in candidates if self.window(p, due_day)[0] <= today <= self.window(p, due_day)[1]]


def sources_file() -> Path:
    return Path(os.environ.get(SOURCES_FILE_ENV) or SPEC_DIR / "sources.yaml")


def _source(province: str, entry: dict, defaults: dict, where: str) -> Source:
    if not isinstance(entry, dict):
        raise SourceConfigError(f"{where}: {province} must be a mapping with at least `kind`")
    kind = entry.get("kind", "drop_folder")
    if kind not in KINDS:
        raise SourceConfigError(f"{where}: {province} has kind '{kind}'; use one of {', '.join(KINDS)}")
    unknown = set(entry) - _KEYS[kind]
    if unknown:
        secret = {"password", "login", "user", "key", "private_key", "token"} & unknown
        hint = " (credentials belong in the Airflow Connection, never in this file)" if secret else ""
        raise SourceConfigError(f"{where}: {province} ({kind}) has unknown key(s) {', '.join(sorted(unknown))}{hint}; "
                                f"allowed: {', '.join(sorted(_KEYS[kind]))}")
    source = Source(province=province, **{**{k: v for k, v in defaults.items() if k in _KEYS[kind]}, **entry})
    _check_remote(source, where)
    return source


def _check_remote(source: Source, where: str) -> None:
    name = f"{where}: {source.province} ({source.kind})"
    if not source.remote:
        return
    if not source.connection:
        raise SourceConfigError(f"{name} needs `connection`: the Airflow Connection id holding its credentials")
    if source.kind == "sftp" and not (source.folder and source.files):
        raise SourceConfigError(f"{name} needs `folder` and `files`")
    if source.kind == "https" and bool(source.url) == bool(source.listing):
        raise SourceConfigError(f"{name} needs either `url` (with {{period}}) or `listing` (with `files`), not both")
    if source.kind == "https" and source.url and "{period}" not in source.url:
        raise SourceConfigError(f"{name}: `url` must contain {{period}}, e.g. /returns/{{period}}.csv")
    if source.kind == "https" and source.listing and not source.files:
        raise SourceConfigError(f"{name}: a `listing` needs `files`, the names of the returns on it")
    if source.files and "{period}" not in source.files:
        raise SourceConfigError(f"{name}: `files` must contain {{period}}, e.g. {source.province}_{{period}}*.csv")


def load_sources(path: Path | None = None) -> dict[str, Source]:
    """Every province's source (drop folder for the ones not configured), by province code."""
    path = path or sources_file()
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    raw = raw or {}
    defaults = {**_DEFAULTS, **(raw.get("defaults") or {})}
    configured = raw.get("provinces") or {}
    registry = load_registry()
    try:
        configured = {registry.province(code).province_code: entry for code, entry in configured.items()}
    except UnknownProvince as exc:
        raise SourceConfigError(f"{path}: {exc}") from exc
    known = registry.province_codes
    return {code: _source(code, configured[code], defaults, str(path)) if code in configured else Source(code)
            for code in known}


def source_for(province: str) -> Source:
    return load_sources()[province]

