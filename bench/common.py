"""What every benchmark stage shares: the console, timing and the sample returns."""
from __future__ import annotations

import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from rich.console import Console

from hub.generate import ManifestEntry, read_manifest

console = Console(stderr=True)


@dataclass
class Stopwatch:
    seconds: float = 0.0


@contextmanager
def stopwatch() -> Iterator[Stopwatch]:
    watch = Stopwatch()
    started = time.perf_counter()
    try:
        yield watch
    finally:
        watch.seconds = time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def sqlalchemy_engine(url: str):
    """What a typical script connects pandas with: SQLAlchemy on the same server (psycopg 3 driver)."""
    from sqlalchemy import create_engine

    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def ratio(measured: float, baseline: float) -> float:
    return round(measured / baseline, 3) if baseline else float("nan")


@dataclass(frozen=True)
class Samples:
    """Generated returns (hub.generate) and their manifest, in the order the provinces sent them."""
    folder: Path

    @property
    def entries(self) -> list[ManifestEntry]:
        return read_manifest(self.folder)

    @property
    def periods(self) -> list[str]:
        return sorted({entry.period for entry in self.entries})

    def path(self, entry: ManifestEntry) -> Path:
        return self.folder / entry.file

    def first_accepted(self, province: str) -> list[ManifestEntry]:
        """The province's first file for each month that the generator meant to be accepted."""
        seen, chosen = set(), []
        for entry in self.entries:
            if entry.province == province and entry.expected_status == "accepted" and entry.period not in seen:
                seen.add(entry.period)
                chosen.append(entry)
        return sorted(chosen, key=lambda e: e.period)
