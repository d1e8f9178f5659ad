"""The labelled mistakes the sample generator plants in its returns, so that the intake's warnings and
the integrity screen can be measured against what is known to be wrong (`cop-bench`, anomalies section).

Single values (what W301 is for): an extra zero typed (x10), two digits transposed, a figure typed in
the neighbouring column. Whole rows: a row copied from last month (W302), a row of zeros (W303). Over
months (the integrity screen): a unit's FIRs collapsing while its complaints stay steady, figures
rounded to tens. Every planted mistake keeps the file acceptable (caps and blocking cross-field rules
hold), so that it reaches the warehouse like a real one.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cop.fileformats import read_records, write_records
from cop.spec import Form

SINGLE_VALUE_KINDS = ("typing_x10", "transposed_digits", "wrong_column")
ROW_KINDS = ("copied_row", "all_zeros")
INTEGRITY_KINDS = ("fir_collapse", "rounded_tens")
KINDS = SINGLE_VALUE_KINDS + ROW_KINDS + INTEGRITY_KINDS

# How often, per unit and month (single values), or per province file (the rest).
SINGLE_VALUE_RATE_PER_UNIT = 0.003
SINGLE_VALUE_MIX = {"typing_x10": 0.5, "transposed_digits": 0.25, "wrong_column": 0.25}
COPIED_ROW_RATE, ALL_ZEROS_RATE, ROUNDED_RATE, COLLAPSE_START_RATE = 0.08, 0.05, 0.1, 0.08
COLLAPSE_MONTHS, COLLAPSE_FACTOR, COLLAPSE_MIN_FIRS = (3, 7), 0.25, 12
CRIME_GROUP = "crime"
# A planted single value is material when it moves a figure by at least MATERIAL_MIN_CHANGE and at least
# doubles or halves it: a mistake that would change what a reader concludes. Smaller ones (34 typed as 43,
# neighbouring cells of 5 and 7 swapped, 100 as 101) sit inside a unit's ordinary month-to-month variation:
# no rule can tell them from a real month, and nobody would want them flagged. The benchmark reports
# recall over all plants and over the material ones.
MATERIAL_MIN_CHANGE, MATERIAL_FACTOR = 5, 2


@dataclass(frozen=True)
class Anomaly:
    province: str
    period: str
    unit_code: str
    kind: str
    fields: str            # the cells changed, ';'-separated; empty for a whole row
    original: str
    planted: str


def is_material(anomaly: Anomaly) -> bool:
    """Whether a planted single value changed any of its cells materially (see MATERIAL_FACTOR)."""
    for original, planted in zip(anomaly.original.split(";"), anomaly.planted.split(";")):
        before, after = float(original), float(planted)
        if abs(after - before) >= MATERIAL_MIN_CHANGE and (after >= MATERIAL_FACTOR * before
                                                          or after <= before / MATERIAL_FACTOR):
            return True
    return False


class Planter:
    """Plants the mistakes of one province, month after month (a FIR collapse lasts several months)."""

    def __init__(self, rng: np.random.Generator, form: Form, province: str, local_fields: tuple[str, ...] = ()):
        self.rng, self.form, self.province, self.local_fields = rng, form, province, local_fields
        self.counts = [f for f in form.fields if f.type == "count"]
        self.caps = {f.name: f.max for f in form.fields}
        self.crime = [f.name for f in form.fields if f.group == CRIME_GROUP]
        self.order = [f.name for f in form.fields]
        self.collapsing: dict[str, int] = {}      # unit -> months of collapse still to come

    def plant(self, rows: list[dict], previous: dict[str, dict], period: str) -> list[Anomaly]:
        planted: list[Anomaly] = []
        touched: set[str] = set()
        planted += self._collapses(rows, period, touched)
        planted += self._single_values(rows, period, touched)
        planted += self._whole_rows(rows, previous, period, touched)
        return planted

    # -- single values

    def _single_values(self, rows: list[dict], period: str, touched: set[str]) -> list[Anomaly]:
        planted = []
        for _ in range(self.rng.binomial(len(rows), SINGLE_VALUE_RATE_PER_UNIT)):
            row = rows[int(self.rng.integers(len(rows)))]
            if row["unit_code"] in touched:
                continue
            kind = str(self.rng.choice(list(SINGLE_VALUE_MIX), p=list(SINGLE_VALUE_MIX.values())))
            anomaly = getattr(self, f"_{kind}")(row, period)
            if anomaly:
                touched.add(row["unit_code"])
                planted.append(anomaly)
        return planted

    def _typing_x10(self, row: dict, period: str) -> Anomaly | None:
        return self._change(row, period, "typing_x10", lambda v: v * 10 if v >= 1 else None)

    def _transposed_digits(self, row: dict, period: str) -> Anomaly | None:
        def transpose(value: float) -> int | None:
            digits = str(int(value))
            if len(digits) < 2:
                return None
            at = int(self.rng.integers(len(digits) - 1))
            swapped = digits[:at] + digits[at + 1] + digits[at] + digits[at + 2:]
            return int(swapped) if swapped != digits and not swapped.startswith("0") else None
        return self._change(row, period, "transposed_digits", transpose)

    def _change(self, row: dict, period: str, kind: str, how) -> Anomaly | None:
        for field in self.rng.permutation([f.name for f in self.counts]):
            value = row.get(field)
            new = how(value) if value is not None else None
            if new is None or new > self.caps[field]:
                continue
            candidate = dict(row, **{field: new})
            if self._acceptable(candidate):
                row[field] = new
                return Anomaly(self.province, period, row["unit_code"], kind, field, str(value), str(new))
        return None

    def _wrong_column(self, row: dict, period: str) -> Anomaly | None:
        """The figure typed one column over: two neighbouring cells swapped."""
        names = [n for n in self.order if row.get(n) is not None and n in {f.name for f in self.counts}]
        for at in self.rng.permutation(len(names) - 1):
            left, right = names[at], names[at + 1]
            if row[left] == row[right] or row[left] > self.caps[right] or row[right] > self.caps[left]:
                continue
            candidate = dict(row, **{left: row[right], right: row[left]})
            if self._acceptable(candidate):
                original = f"{row[left]};{row[right]}"
                row[left], row[right] = row[right], row[left]
                return Anomaly(self.province, period, row["unit_code"], "wrong_column", f"{left};{right}",
                               original, f"{row[left]};{row[right]}")
        return None

    def _acceptable(self, row: dict) -> bool:
        """The blocking cross-field rules still hold: the file must be accepted to be measured."""
        for rule in self.form.cross_field_rules:
            left, right = row.get(rule.left), row.get(rule.right)
            if rule.severity == "error" and left is not None and right is not None and left > right:
                return False
        return True

    # -- whole rows

    def _whole_rows(self, rows: list[dict], previous: dict[str, dict], period: str, touched: set[str]) -> list[Anomaly]:
        planted = []
        if self.rng.random() < COPIED_ROW_RATE:
            index = int(self.rng.integers(len(rows)))
            last = previous.get(rows[index]["unit_code"])
            if last and rows[index]["unit_code"] not in touched:
                # Last month's figures over this month's row: fields a newer form added keep this month's.
                rows[index] = {**rows[index], **last, "period": rows[index]["period"],
                               "district_code": rows[index]["district_code"]}
                touched.add(rows[index]["unit_code"])
                planted.append(Anomaly(self.province, period, rows[index]["unit_code"], "copied_row", "", "", ""))
        if self.rng.random() < ALL_ZEROS_RATE:
            row = rows[int(self.rng.integers(len(rows)))]
            if row["unit_code"] not in touched:
                for field in self.form.fields:
                    row[field.name] = 0 if field.required else None
                for name in self.local_fields:
                    row[name] = 0
                for name in self.form.narrative_names:
                    row.pop(name, None)
                touched.add(row["unit_code"])
                planted.append(Anomaly(self.province, period, row["unit_code"], "all_zeros", "", "", ""))
        if self.rng.random() < ROUNDED_RATE:
            row = rows[int(self.rng.integers(len(rows)))]
            rounded = {f.name: int(round(row[f.name], -1)) for f in self.counts
                       if row.get(f.name) is not None and row[f.name] >= 10}
            if row["unit_code"] not in touched and len(rounded) >= 4 and self._acceptable(dict(row, **rounded)):
                row.update(rounded)
                touched.add(row["unit_code"])
                planted.append(Anomaly(self.province, period, row["unit_code"], "rounded_tens",
                                       ";".join(rounded), "", ""))
        return planted

    # -- FIRs collapsing over months

    def _collapses(self, rows: list[dict], period: str, touched: set[str]) -> list[Anomaly]:
        by_unit = {row["unit_code"]: row for row in rows}
        if self.rng.random() < COLLAPSE_START_RATE:
            busy = [u for u, row in by_unit.items() if u not in self.collapsing and self._firs(row) >= COLLAPSE_MIN_FIRS]
            if busy:
                self.collapsing[str(self.rng.choice(busy))] = int(self.rng.integers(*COLLAPSE_MONTHS))
        planted = []
        for unit in list(self.collapsing):
            row = by_unit.get(unit)
            if row is not None:
                original = self._firs(row)
                for name in self.crime:
                    if row.get(name) is not None:
                        row[name] = int(row[name] * COLLAPSE_FACTOR)
                touched.add(unit)
                planted.append(Anomaly(self.province, period, unit, "fir_collapse", ";".join(self.crime),
                                       str(original), str(self._firs(row))))
            self.collapsing[unit] -= 1
            if self.collapsing[unit] <= 0:
                del self.collapsing[unit]
        return planted

    def _firs(self, row: dict) -> int:
        return int(sum(row.get(name) or 0 for name in self.crime))


def write_anomalies(path: Path, anomalies: list[Anomaly]) -> None:
    write_records(path, anomalies, Anomaly)


def read_anomalies(folder: Path) -> list[Anomaly]:
    return read_records(Path(folder) / "anomalies.csv", Anomaly)
