"""A small known data set for the warehouse tests, landed in raw the way the intake lands it."""
from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections import Counter
from dataclasses import dataclass, field

import psycopg

from cop.spec import form_for

PKT = dt.timezone(dt.timedelta(hours=5))


def pkt(text: str) -> dt.datetime:
    """A Pakistan-time timestamp, e.g. pkt('2025-02-10 23:30')."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=PKT)


@dataclass
class RawLoader:
    """Lands submissions in raw as the intake does: one raw.submissions row, and for an accepted one
    its unit rows and long values (None = an explicit unknown)."""
    conn: psycopg.Connection
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def submit(self, province: str, period: str, received_at: dt.datetime,
               rows: dict[str, dict[str, float | None]] | None = None, status: str = "accepted",
               version: int | None = None, problems: list[tuple[str, str, str | None]] = (),
               district_of: dict[str, str] | None = None) -> int:
        month = dt.date.fromisoformat(f"{period}-01")
        serial = next(self.counter)
        rows = rows or {}
        if version is None and status == "accepted":
            version = 1 + self.conn.execute(
                "select count(*) from raw.submissions where province_code = %s and period = %s "
                "and status = 'accepted'", (province, month)).fetchone()[0]
        digest = hashlib.sha256(f"{province}{period}{serial}".encode()).hexdigest()
        errors = sum(1 for severity, _, _ in problems if severity == "error")
        with self.conn.transaction():
            submission_id = self.conn.execute(
                "insert into raw.submissions (province_code, period, version, status, received_at, submitted_by,"
                " channel, file_name, file_size, sha256, landed_path, row_count, error_count, warning_count)"
                " values (%s, %s, %s, %s, %s, 'tester', 'cli', %s, 100, %s, %s, %s, %s, %s)"
                " returning submission_id",
                (province, month, version, status, received_at, f"{province}_{period}_{serial}.csv", digest,
                 f"landing/{digest}.csv", len(rows), errors, len(problems) - errors)).fetchone()[0]
            for number, (severity, rule, unit_code) in enumerate(problems, start=1):
                self.conn.execute(
                    "insert into audit.problems (submission_id, problem_no, severity, rule, unit_code, message)"
                    " values (%s, %s, %s, %s, %s, 'test problem')",
                    (submission_id, number, severity, rule, unit_code))
            for (severity, rule), total in Counter((severity, rule) for severity, rule, _ in problems).items():
                self.conn.execute("insert into audit.problem_counts (submission_id, rule, severity, total, stored)"
                                  " values (%s, %s, %s, %s, %s)", (submission_id, rule, severity, total, total))
            if status != "accepted":
                return submission_id
            for source_row, (unit_code, values) in enumerate(rows.items(), start=2):
                district = (district_of or {}).get(unit_code) or unit_code.split("-")[1]
                self.conn.execute(
                    "insert into raw.return_rows (submission_id, source_row, province_code, district_code,"
                    " unit_code, period) values (%s, %s, %s, %s, %s, %s)",
                    (submission_id, source_row, province, district, unit_code, month))
                with self.conn.cursor().copy(
                        "copy raw.return_values (submission_id, unit_code, indicator_code, value) from stdin") as copy:
                    for indicator, value in values.items():
                        copy.write_row((submission_id, unit_code, indicator, value))
        return submission_id


def unit_values(unit_index: int, shift: int = 0, period: str = "2025-01") -> dict[str, float | None]:
    """Deterministic national values for one unit-month (form order, the version in force for `period`),
    within the form's caps."""
    values: dict[str, float | None] = {}
    for position, f in enumerate(form_for(dt.date.fromisoformat(f"{period}-01")).fields, start=1):
        values[f.name] = 3.5 + shift if f.type == "decimal" else float((unit_index * 7 + position + shift) % 40)
    values["officers_posted"] = 60 + shift
    return values


@dataclass
class Scenario:
    ids: dict[str, int]
    ic_units: list[str]


def load_scenario(raw_loader: RawLoader) -> Scenario:
    """Two months (2024-12 on form v1, 2025-01 on form v2) of returns with every case the marts must handle:
    IC: December on time with IC-ISB-027 missing; January on time (v1, IC-ISB-026 and -027 missing)
        then revised late (v2 adds IC-ISB-026, so it is late; -027 still missing); a rejected file.
        IC-ISB-001 reports youth_participants as unknown; IC-ISB-002 leaves social_media_posts out.
        Local indicator ic_safe_city_alerts on every row.
    PB: the Kot Addu stations PB-MZG-015..020 (district MZG in December, KTA from January), with
        Punjab's local indicators; January is late.
    SD: December on time for five Karachi South stations; a duplicate file in January.
    """
    ic_units = [f"IC-ISB-{n:03d}" for n in range(1, 28)]
    kot_addu = [f"PB-MZG-{n:03d}" for n in range(15, 21)]

    def ic_rows(units, shift=0, period="2025-01"):
        rows = {}
        for index, unit in enumerate(units):
            values = {**unit_values(index, shift, period), "ic_safe_city_alerts": float(index + shift)}
            if unit == "IC-ISB-001":
                values["youth_participants"] = None
            if unit == "IC-ISB-002":
                values.pop("social_media_posts")
            rows[unit] = values
        return rows

    def pb_rows(shift=0, period="2025-01"):
        return {unit: {**unit_values(10 + index, shift, period), "pb_khidmat_markaz_services": 100.0 + index,
                       "pb_dolphin_patrol_hours": None if index == 0 else 50.0}
                for index, unit in enumerate(kot_addu)}

    submit = raw_loader.submit
    ids = {
        "ic_dec": submit("IC", "2024-12", pkt("2025-01-08 10:00"), ic_rows(ic_units[:26], period="2024-12")),
        "ic_jan_v1": submit("IC", "2025-01", pkt("2025-02-10 23:30"), ic_rows(ic_units[:25])),
        "ic_jan_rejected": submit("IC", "2025-01", pkt("2025-02-10 23:50"), status="rejected",
                                  problems=[("error", "E040", "IC-ISB-003"), ("error", "E040", "IC-ISB-004"),
                                            ("error", "X101", "IC-ISB-004"), ("warning", "W303", "IC-ISB-005")]),
        "ic_jan_v2": submit("IC", "2025-01", pkt("2025-02-11 00:30"), ic_rows(ic_units[:26], shift=1),
                            problems=[("warning", "W301", "IC-ISB-001")]),
        "pb_dec": submit("PB", "2024-12", pkt("2025-01-09 12:00"), pb_rows(period="2024-12"),
                         district_of={u: "MZG" for u in kot_addu}),
        "pb_jan": submit("PB", "2025-01", pkt("2025-02-15 09:00"), pb_rows(shift=2),
                         district_of={u: "KTA" for u in kot_addu}),
        "sd_dec": submit("SD", "2024-12", pkt("2025-01-10 16:00"),
                         {f"SD-KHS-{n:03d}": unit_values(n, period="2024-12") for n in range(8, 13)}),
    }
    ids["sd_jan_duplicate"] = submit("SD", "2025-01", pkt("2025-02-09 10:00"), status="duplicate")
    return Scenario(ids=ids, ic_units=ic_units)
