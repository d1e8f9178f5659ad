"""Copies the versioned reference data (form indicators, provinces, districts,
unit registry) from spec/ into raw.ref_* so that dbt and SQL users see exactly
what the spec says. Runs in one transaction; unchanged data is left untouched."""
from __future__ import annotations

import hashlib

import psycopg

from cop.paths import SPEC_DIR
from cop.registry import load_registry
from cop.spec import load_amendment, load_form


def _spec_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted(SPEC_DIR.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(SPEC_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _indicator_rows() -> list[tuple]:
    provinces = load_registry().province_codes
    fields = [*load_form().fields]
    for province in provinces:
        fields += load_amendment(province).local_indicators

    def collected_by(f) -> list[str]:
        return [f.province] if f.is_local else [p for p in provinces if f.name not in load_amendment(p).omit]

    return [(f.name, f.province, f.group, f.type, f.unit, f.required, f.max, f.label, f.help, position, f.since,
             f.until, f.aggregation, f.direction, f.part_of, collected_by(f))
            for position, f in enumerate(fields, start=1)]


def _copy(conn: psycopg.Connection, table: str, columns: list[str], rows: list[tuple]) -> None:
    conn.execute(f"truncate raw.{table}")
    with conn.cursor().copy(f"copy raw.{table} ({', '.join(columns)}) from stdin") as copy:
        for row in rows:
            copy.write_row(row)


def sync_reference(conn: psycopg.Connection) -> bool:
    """Refresh raw.ref_* from spec/. Returns True when something changed."""
    fingerprint = _spec_fingerprint()
    current = conn.execute("select fingerprint from raw.ref_fingerprint").fetchone()
    if current and current[0] == fingerprint:
        return False
    registry = load_registry()
    with conn.transaction():
        _copy(conn, "ref_provinces", ["province_code", "province_name", "capital", "due_day", "lock_after_days",
                                      "iso_3166_2", "population_base_year", "population_growth_percent"],
              [(p.province_code, p.province_name, p.capital, load_amendment(p.province_code).due_day,
                load_amendment(p.province_code).lock_after_days, p.iso_3166_2, p.population_base_year,
                p.population_growth_percent) for p in registry.provinces])
        _copy(conn, "ref_districts", ["province_code", "district_code", "district_name"],
              [(d.province_code, d.district_code, d.district_name) for d in registry.districts])
        _copy(conn, "ref_units",
              ["unit_code", "valid_from", "valid_to", "unit_name", "province_code", "district_code",
               "urban_rural", "population", "opened_on", "closed_on"],
              [(u.unit_code, u.valid_from, u.valid_to, u.unit_name, u.province_code, u.district_code,
                u.urban_rural, u.population, u.opened_on, u.closed_on) for u in registry.unit_versions])
        _copy(conn, "ref_indicators",
              ["indicator_code", "province_code", "indicator_group", "value_type", "unit_of_measure",
               "is_required", "max_value", "label", "help_text", "position", "first_version", "last_version",
               "aggregation", "direction", "part_of", "collected_by"],
              _indicator_rows())
        _copy(conn, "ref_form_versions", ["form_version", "first_month"],
              [(v.version, v.start) for v in load_form().versions])
        conn.execute("delete from raw.ref_fingerprint")
        conn.execute("insert into raw.ref_fingerprint values (%s)", (fingerprint,))
    return True
