"""The federal unit registry: provinces, districts and police stations over time.

spec/registry/units.csv holds one row per *version* of a unit: a unit that
moved district has two rows, the first closed by `valid_to`. A unit is open in
a month when it opened on or before the month's last day and had not closed
before the month's first day (`closed_on` is its last day of operation).

spec/registry/provinces.csv also gives each province's ISO 3166-2 code and the annual growth of its
population: a unit's `population` is its estimate for `population_base_year` (the 2023 census), and other
years are estimated from it at `population_growth_percent` a year (the 2017-2023 intercensal growth; an
estimate for Gilgit-Baltistan and Azad Jammu & Kashmir, which that census did not cover). The warehouse's
rpt_population_year holds those estimates by year for units, districts and provinces.
"""
from __future__ import annotations

import csv
import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

from cop.paths import SPEC_DIR
from cop.period import month_end


@dataclass(frozen=True)
class Province:
    province_code: str
    province_name: str
    capital: str
    iso_3166_2: str
    population_base_year: int
    population_growth_percent: float


@dataclass(frozen=True)
class District:
    province_code: str
    district_code: str
    district_name: str


@dataclass(frozen=True)
class UnitVersion:
    unit_code: str
    unit_name: str
    province_code: str
    district_code: str
    urban_rural: str
    population: int
    opened_on: dt.date
    closed_on: dt.date | None
    valid_from: dt.date
    valid_to: dt.date | None

    def is_open_in(self, month: dt.date) -> bool:
        return self.opened_on <= month_end(month) and (self.closed_on is None or self.closed_on >= month)

    def is_current_in(self, month: dt.date) -> bool:
        """This version describes the unit in `month` (versions change on a month's first day)."""
        return self.valid_from <= month and (self.valid_to is None or self.valid_to >= month)


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


class UnknownProvince(ValueError):
    """A province code that is not in the registry; says which codes are."""


@dataclass(frozen=True)
class Registry:
    provinces: tuple[Province, ...]
    districts: tuple[District, ...]
    unit_versions: tuple[UnitVersion, ...]

    def province(self, code: str) -> Province:
        """The province of `code` (any case, spaces around ignored), or UnknownProvince: the one check of a
        province code that every door (command line, portal, intake, sources, DAG parameters) makes."""
        wanted = str(code).strip().upper()
        for province in self.provinces:
            if province.province_code == wanted:
                return province
        raise UnknownProvince(f"unknown province '{str(code).strip()[:20]}'; use one of {', '.join(self.province_codes)}")

    @property
    def province_codes(self) -> list[str]:
        return [p.province_code for p in self.provinces]

    @functools.cached_property
    def _versions_by_unit(self) -> dict[str, list[UnitVersion]]:
        index: dict[str, list[UnitVersion]] = {}
        for version in self.unit_versions:
            index.setdefault(version.unit_code, []).append(version)
        return index

    def unit_in(self, unit_code: str, month: dt.date) -> UnitVersion | None:
        """The unit as the registry describes it in `month` (open or not), or None if unknown."""
        versions = self._versions_by_unit.get(unit_code, [])
        for version in versions:
            if version.is_current_in(month):
                return version
        return versions[-1] if versions else None

    def units_open(self, province_code: str | None, month: dt.date) -> list[UnitVersion]:
        """Units expected to report for `month`, as they were that month, sorted by code."""
        return [v for v in self.unit_versions
                if (province_code is None or v.province_code == province_code)
                and v.is_current_in(month) and v.is_open_in(month)]


@functools.lru_cache(maxsize=None)
def load_registry(spec_dir: Path = SPEC_DIR) -> Registry:
    folder = spec_dir / "registry"
    provinces = tuple(Province(**{**row, "population_base_year": int(row["population_base_year"]),
                                  "population_growth_percent": float(row["population_growth_percent"])})
                      for row in _rows(folder / "provinces.csv"))
    districts = tuple(District(**row) for row in _rows(folder / "districts.csv"))
    versions = tuple(
        UnitVersion(
            unit_code=row["unit_code"], unit_name=row["unit_name"], province_code=row["province_code"],
            district_code=row["district_code"], urban_rural=row["urban_rural"], population=int(row["population"]),
            opened_on=_date(row["opened_on"]), closed_on=_date(row["closed_on"]),
            valid_from=_date(row["valid_from"]), valid_to=_date(row["valid_to"]))
        for row in _rows(folder / "units.csv"))
    return Registry(provinces, districts, tuple(sorted(versions, key=lambda v: (v.unit_code, v.valid_from))))
