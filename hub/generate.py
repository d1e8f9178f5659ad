"""Realistic sample returns for the demo, the tests and the benchmarks.

One file per province per month, in each province's own format and headers,
with the real-life mess the pipeline must handle: late files, units missing
from a file, a month never sent, revised resubmissions, a few files with blocking errors (most fixed
and resent), and labelled mistakes in accepted files (hub/anomalies.py; labels in anomalies.csv):
typing errors, transposed digits, figures in the wrong column, copied and all-zero rows, collapsing
FIRs, rounded figures.

Deterministic: the same arguments give the same bytes.

Magnitudes: activity scales with the population a unit serves; urban units
report more street crime (Karachi and Lahore most); community policing activity
builds up over the years, faster in some units than others, and units that do
more of it see crime fall a little; crime peaks in the summer months.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cop.fileformats import read_records, return_file_bytes, write_bytes, write_records
from cop.period import add_months, due_date, format_period, months_between
from cop.registry import UnitVersion, load_registry
from cop.spec import Amendment, Form, form_for, load_amendment, load_form
from hub.anomalies import SINGLE_VALUE_KINDS, Anomaly, Planter, write_anomalies
from hub.sample_narratives import sample_narratives

KARACHI = {"KHE", "KHW", "KHS", "KHC", "KHK", "KHM", "KHR"}
BIG_CITIES = KARACHI | {"LHR", "FSD", "RWP", "PSH", "QTA", "ISB", "HYD", "MUL", "GRW"}
INSURGENCY_AFFECTED = {"NWZ", "SWZ", "KRM", "BJR", "KBR", "MMD", "OKZ", "DIK", "BNU", "LKM", "TNK", "QTA",
                       "KCH", "PJG", "GWD", "DBG", "KHL", "CMN", "PSH"}
PKT = dt.timezone(dt.timedelta(hours=5))


@dataclass(frozen=True)
class ManifestEntry:
    file: str              # path relative to the output folder
    province: str
    period: str
    received_at: str       # ISO timestamp with offset: when the province sent it
    kind: str              # on_time | late | revision | blocking_errors | fixed_resubmission
    expected_status: str   # accepted | rejected
    note: str


# ---------------------------------------------------------------- the numbers


@dataclass
class UnitProfile:
    """What stays with a unit across months."""
    activity: float        # how active in community policing it is (1 = typical)
    improvement: float     # how fast its COP activity grows over the horizon
    female_share: float
    officers: int
    trained: int


def _profiles(rng: np.random.Generator, units: list[UnitVersion]) -> dict[str, UnitProfile]:
    profiles = {}
    for unit in units:
        officers = int(np.clip(unit.population / 1000 * rng.uniform(0.5, 1.1), 15, 1500))
        profiles[unit.unit_code] = UnitProfile(
            activity=float(rng.lognormal(0, 0.35)), improvement=float(rng.normal(0.6, 0.45)),
            female_share=float(rng.uniform(0.01, 0.06)), officers=officers,
            trained=int(officers * rng.uniform(0.05, 0.25)))
    return profiles


def _crime_rates(unit: UnitVersion) -> dict[str, float]:
    """Monthly FIRs per 100,000 people."""
    urban = unit.urban_rural == "urban"
    street = 42 if unit.district_code in KARACHI else 30 if unit.district_code in BIG_CITIES else 18 if urban else 5
    terror = 0.25 if unit.district_code in INSURGENCY_AFFECTED else 0.01
    return dict(street_crime_reported=street, vehicle_theft=11 if urban else 3, burglary=5 if urban else 3,
                homicide=0.55 if urban else 0.45, kidnapping=0.5 if urban else 0.35,
                drug_offences=4.5 if urban else 2.5, terrorism_incidents=terror)


def unit_month_values(rng: np.random.Generator, unit: UnitVersion, profile: UnitProfile, progress: float,
                      month: dt.date) -> dict[str, float | None]:
    """One unit's national figures for one month. `progress` runs from 0 to 1 over the horizon."""
    pois = rng.poisson
    pop = unit.population / 100_000
    cop = profile.activity * (0.7 + 0.6 * progress * profile.improvement)
    cop = max(cop, 0.15)
    season = 1 + 0.12 * math.sin(2 * math.pi * (month.month - 4) / 12)
    crime_trend = 1 - 0.12 * progress * max(profile.improvement, 0) * min(profile.activity, 2)

    v: dict[str, float | None] = {}
    v["community_meetings_held"] = pois(1.2 + 1.8 * pop * cop)
    v["community_meeting_attendance"] = int(sum(pois(28, size=int(v["community_meetings_held"]))))
    v["open_courts_held"] = pois(0.8 * cop)
    v["neighbourhood_watch_groups_active"] = pois(1 + 1.5 * pop * cop)
    v["liaison_committee_meetings"] = pois(1.5 * cop)
    v["faith_and_community_leader_meetings"] = pois(1.2 * cop)
    v["youth_and_school_events"] = pois(1.5 * cop)
    v["youth_participants"] = int(sum(pois(35, size=int(v["youth_and_school_events"]))))
    v["awareness_campaigns"] = pois(0.8 * cop)
    v["social_media_posts"] = pois((14 if unit.urban_rural == "urban" else 4) * cop)
    v["disputes_referred"] = pois(0.5 + 2.2 * pop * cop)
    v["disputes_resolved"] = rng.binomial(v["disputes_referred"], 0.75) + (pois(3) if rng.random() < 0.01 else 0)
    v["problems_identified"] = pois(1.2 * cop)
    v["problems_resolved"] = rng.binomial(v["problems_identified"], 0.6) + (pois(2) if rng.random() < 0.01 else 0)
    v["complaints_received"] = pois(1 + 5 * pop)
    v["complaints_resolved"] = rng.binomial(v["complaints_received"], min(0.55 + 0.25 * cop, 0.97))
    v["complaints_against_police"] = rng.binomial(v["complaints_received"], max(0.16 - 0.05 * progress * cop, 0.03))
    v["median_days_to_resolve"] = (round(float(rng.gamma(3, 4 / max(cop, 0.3))), 1)
                                   if v["complaints_resolved"] else None)
    for field, rate in _crime_rates(unit).items():
        seasonal = season if field != "terrorism_incidents" else 1
        v[field] = pois(rate * pop * seasonal * crime_trend)
    v["mobile_snatching"] = rng.binomial(v["street_crime_reported"], 0.45)

    profile.officers = int(max(10, profile.officers + rng.integers(-2, 3)))
    newly_trained = int(rng.binomial(max(profile.officers - profile.trained, 0), min(0.015 * cop, 0.2)))
    profile.trained = min(profile.officers, profile.trained + newly_trained)
    v["officers_posted"] = profile.officers
    v["female_officers_posted"] = int(round(profile.officers * (profile.female_share * (1 + 0.5 * progress))))
    v["officers_trained_cop"] = profile.trained
    v["cop_training_hours"] = pois(4 + 16 * newly_trained)
    v["community_liaison_officers"] = max(1, int(round(profile.officers * 0.03 * min(cop, 2))))
    v["patrol_vehicles_operational"] = max(1, int(profile.officers / 25 + rng.integers(-1, 2)))
    v["cctv_cameras_operational"] = pois((6 if unit.urban_rural == "urban" else 0.5) * pop * (1 + progress))
    if rng.random() < 0.6:
        v["survey_respondents"] = pois(70)
        v["survey_satisfied"] = rng.binomial(v["survey_respondents"], min(0.38 + 0.15 * progress * cop, 0.9))
    else:
        v["survey_respondents"] = v["survey_satisfied"] = None
    return {k: (int(x) if isinstance(x, (np.integer, int)) else x) for k, x in v.items()}


def _unmodelled_values(rng: np.random.Generator, form: Form, unit: UnitVersion,
                       modelled: dict[str, float | None]) -> dict[str, float]:
    """Figures for national fields the model above does not know yet (an indicator just added to
    spec/form.yaml): a count around 5 + 2 per 100,000 people within the field's max, kept within the
    right side of any "<=" rule on it, so the sample returns stay acceptable until the field is modelled."""
    values: dict[str, float] = {}
    for field in form.fields:
        if field.name not in modelled:
            draw = rng.poisson(5 + 2 * unit.population / 100_000)
            values[field.name] = round(float(draw), 1) if field.type == "decimal" else int(draw)
            values[field.name] = min(values[field.name], int(field.max))
    for rule in form.cross_field_rules:
        bound = modelled.get(rule.right, values.get(rule.right))
        if rule.op == "<=" and rule.left in values and bound is not None:
            values[rule.left] = min(values[rule.left], bound)
    return values


def v2_values(rng: np.random.Generator, unit: UnitVersion, profile: UnitProfile, progress: float,
              v1: dict) -> dict[str, float | None]:
    """The figures form v2 added, consistent with the unit's v1 figures of the same month."""
    pois, pop = rng.poisson, unit.population / 100_000
    cop = max(profile.activity * (0.7 + 0.6 * progress * profile.improvement), 0.15)
    urban, insurgency = unit.urban_rural == "urban", unit.district_code in INSURGENCY_AFFECTED
    incidents = v1["terrorism_incidents"]
    v: dict[str, float | None] = {
        "islahi_committee_meetings": pois(0.9 * cop),
        "religious_leader_engagements": pois(1.1 * cop),
        "community_members_trained": pois(12 * cop) if rng.random() < 0.8 else None,
        "cve_activities": pois((1.6 if insurgency else 0.4) * cop),
        "stolen_vehicles_recovered": rng.binomial(v1["vehicle_theft"], 0.35) + pois(0.3),
        "road_accidents_fatal": pois((0.5 if urban else 0.8) * pop) if rng.random() < 0.85 else None,
        "terrorism_deaths": int(pois(1.3, size=incidents).sum()),
        "terrorism_injuries": int(pois(2.8, size=incidents).sum()),
        "officers_killed_on_duty": rng.binomial(incidents, 0.15),
        "officers_injured_on_duty": rng.binomial(incidents, 0.45) + (1 if rng.random() < 0.02 else 0),
    }
    v["social_media_feedback_received"] = v["social_media_feedback_answered"] = None  # not reported, unless:
    v["cop_funds_received_pkr"] = v["cop_funds_spent_pkr"] = None
    if rng.random() < 0.75:
        v["social_media_feedback_received"] = pois((22 if urban else 5) * cop)
        v["social_media_feedback_answered"] = rng.binomial(v["social_media_feedback_received"], 0.7)
    if rng.random() < 0.7:
        received = round(float(rng.gamma(2, 20_000 * (1 + progress) * max(pop, 0.3))), -2)
        v["cop_funds_received_pkr"] = received
        v["cop_funds_spent_pkr"] = round(received * float(rng.uniform(0.4, 1.0)), -2)
    return {k: (int(x) if isinstance(x, (np.integer, int)) else x) for k, x in v.items()}


def _local_values(rng: np.random.Generator, amendment: Amendment, unit: UnitVersion) -> dict[str, int | None]:
    pop = unit.population / 100_000
    values: dict[str, int | None] = {}
    for field in amendment.local_indicators:
        if not field.required and rng.random() < 0.1:
            values[field.name] = None
        else:
            values[field.name] = int(min(rng.poisson(40 * pop + 5), field.max))
    return values


# ---------------------------------------------------------------- the mess


@dataclass
class ProvinceMonth:
    province: str
    month: dt.date
    rows: list[dict]           # field -> value, identity included


def _apply_mess(rng: np.random.Generator, planter: Planter, pm: ProvinceMonth,
                previous: dict[str, dict]) -> tuple[list[str], list[Anomaly]]:
    """Labelled mistakes (hub/anomalies.py) and dropped units; returns notes and the labels."""
    rows = pm.rows
    anomalies = planter.plant(rows, previous, format_period(pm.month)) if rows else []
    notes = [f"{a.kind} {a.unit_code}" + (f".{a.fields}" if a.kind in SINGLE_VALUE_KINDS else "")
             for a in anomalies]
    if rng.random() < 0.15 and len(rows) > 5:
        for _ in range(int(rng.integers(1, 5))):
            dropped = rows.pop(int(rng.integers(len(rows))))
            notes.append(f"missing {dropped['unit_code']}")
    present = {row["unit_code"] for row in rows}
    return notes, [a for a in anomalies if a.unit_code in present]


def _received_at(rng: np.random.Generator, month: dt.date, due_day: int, late: bool) -> dt.datetime:
    due = due_date(month, due_day)
    if late:
        day = due + dt.timedelta(days=int(rng.integers(1, 25)))
    else:
        day = due - dt.timedelta(days=int(rng.integers(0, 8)))
    hour = int(rng.integers(9, 18))
    return dt.datetime(day.year, day.month, day.day, hour, int(rng.integers(0, 60)), tzinfo=PKT)


def _break_file(rng: np.random.Generator, pm: ProvinceMonth, registry_units: list[UnitVersion], how: str) -> str:
    """Blocking errors a real province file has had."""
    rows = pm.rows
    if how == "bad_values":
        rows[3]["homicide"] = -1
        rows[5]["mobile_snatching"] = rows[5]["street_crime_reported"] + 4
        other = next(u for u in registry_units if u.province_code != pm.province)
        rows.append(dict(rows[0], unit_code=other.unit_code, district_code=other.district_code))
        return "negative homicide count, mobile snatching above street crime, a unit of another province"
    if how == "missing_column":
        for row in rows:
            row.pop("homicide", None)
        return "the homicide column is missing"
    for row in rows:
        row["period"] = format_period(add_months(pm.month, -1))
    return "every row carries the previous month"


def _file_bytes(amendment: Amendment, month: dt.date, rows: list[dict]) -> bytes:
    """The file in the columns of the form version in force for `month`."""
    columns = [c for c in amendment.columns(form_for(month)) if any(c.field in row for row in rows)]
    header = [c.header for c in columns]
    return return_file_bytes(amendment.file, header, [[row.get(c.field) for c in columns] for row in rows])


# ---------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Incidents:
    """Which province-months get the special treatment (picked deterministically)."""
    never_sent: tuple[str, str]
    revised: tuple[tuple[str, str], ...]
    broken: tuple[tuple[str, str, str, bool], ...]   # province, period, how, fixed later


def _plan_incidents(months: list[dt.date]) -> Incidents:
    def at(fraction: float) -> str:
        return format_period(months[min(int(fraction * len(months)), len(months) - 1)])

    return Incidents(
        never_sent=("BA", at(0.3)),
        revised=(("PB", at(0.4)), ("SD", at(0.55)), ("IC", at(0.8))),
        broken=(("SD", at(0.25), "bad_values", True), ("KP", at(0.6), "missing_column", True),
                ("GB", at(0.9), "wrong_period", False)),
    )


def generate_returns(out_dir: Path, years: int = 2, seed: int = 7, end: dt.date = dt.date(2025, 12, 1),
                     progress: bool = False, first: dt.date | None = None) -> list[ManifestEntry]:
    """Returns for every province and month of the `years` to `end` (or from `first` to `end`)."""
    out_dir = Path(out_dir)
    form, registry = load_form(), load_registry()
    months = months_between(first or add_months(end, -(12 * years - 1)), end)
    incidents = _plan_incidents(months)
    rng = np.random.default_rng(seed)
    all_units = list(registry.unit_versions)
    manifest: list[ManifestEntry] = []
    anomalies: list[Anomaly] = []

    tasks = [(p, m) for p in registry.province_codes for m in months]
    bar = _progress(len(tasks), "generating returns") if progress else None
    for province in registry.province_codes:
        amendment = load_amendment(province)
        profiles = _profiles(rng, [u for u in all_units if u.province_code == province])
        previous: dict[str, dict] = {}
        planter = Planter(rng, form, province, tuple(f.name for f in amendment.local_indicators))
        for index, month in enumerate(months):
            period = format_period(month)
            pm = _province_month(rng, form, amendment, province, month, index / max(len(months) - 1, 1), profiles)
            clean_rows = [dict(r) for r in pm.rows]
            notes, planted = _apply_mess(rng, planter, pm, previous)
            previous = {row["unit_code"]: row for row in clean_rows}
            if (province, period) != incidents.never_sent:
                manifest += _emit(rng, out_dir, form, amendment, pm, notes, incidents, all_units)
                anomalies += planted
            if bar:
                bar()
    manifest.sort(key=lambda e: (e.received_at, e.file))
    write_records(out_dir / "manifest.csv", manifest, ManifestEntry)
    write_anomalies(out_dir / "anomalies.csv", anomalies)
    return manifest


def _province_month(rng, form, amendment, province, month, progress_fraction, profiles) -> ProvinceMonth:
    rows = []
    in_force = form_for(month)
    v2 = {f.name for f in in_force.fields} - {f.name for f in form.in_version(1).fields}
    for unit in load_registry().units_open(province, month):
        profile = profiles.setdefault(unit.unit_code, _profiles(rng, [unit])[unit.unit_code])
        values = unit_month_values(rng, unit, profile, progress_fraction, month)
        if v2:
            values.update(v2_values(rng, unit, profile, progress_fraction, values))
            values.update(sample_narratives(rng, in_force, amendment, values))
        values.update(_unmodelled_values(rng, in_force, unit, values))
        row = dict(province_code=province, district_code=unit.district_code, unit_code=unit.unit_code,
                   period=format_period(month))
        row.update({k: v for k, v in values.items() if k not in amendment.omit})
        row.update(_local_values(rng, amendment, unit))
        rows.append(row)
    return ProvinceMonth(province, month, rows)


def _emit(rng, out_dir, form, amendment, pm, notes, incidents, all_units) -> list[ManifestEntry]:
    province, period = pm.province, format_period(pm.month)
    ext = amendment.file.extension
    late = rng.random() < (0.2 if province in ("GB", "BA") else 0.08)
    received = _received_at(rng, pm.month, amendment.due_day, late)
    entries = []

    def emit(name: str, rows: list[dict], when: dt.datetime, kind: str, status: str, note: str) -> None:
        relative = f"{province}/{name}"
        write_bytes(out_dir / relative, _file_bytes(amendment, pm.month, rows))
        entries.append(ManifestEntry(relative, province, period, when.isoformat(), kind, status, note))

    broken = next((b for b in incidents.broken if b[:2] == (province, period)), None)
    if broken:
        bad_rows = [dict(r) for r in pm.rows]
        problem = _break_file(rng, ProvinceMonth(province, pm.month, bad_rows), all_units, broken[2])
        emit(f"{province}_{period}.{ext}", bad_rows, received, "blocking_errors", "rejected", problem)
        if not broken[3]:
            return entries
        received = received + dt.timedelta(days=2, hours=3)
        emit(f"{province}_{period}_fixed.{ext}", pm.rows, received, "fixed_resubmission", "accepted",
             "; ".join(notes))
    else:
        emit(f"{province}_{period}.{ext}", pm.rows, received, "late" if late else "on_time", "accepted",
             "; ".join(notes))
    if (province, period) in incidents.revised:
        revised = [dict(r) for r in pm.rows]
        for row in revised[: max(1, len(revised) // 10)]:
            row["community_meetings_held"] = row["community_meetings_held"] + 1
            row["community_meeting_attendance"] = row["community_meeting_attendance"] + 25
        emit(f"{province}_{period}_rev1.{ext}", revised, received + dt.timedelta(days=6), "revision", "accepted",
             "corrected community meeting figures for a tenth of the units")
    return entries


def read_manifest(out_dir: Path) -> list[ManifestEntry]:
    return read_records(Path(out_dir) / "manifest.csv", ManifestEntry)


def submit_generated(out_dir: Path, entry: ManifestEntry, channel: str):
    """Submit one generated file to the intake as its province sent it (by `<province>-<channel>`, at its
    receipt time); returns the receipt."""
    from loaders.intake import submit_file

    path = Path(out_dir) / entry.file
    return submit_file(path.read_bytes(), path.name, entry.province, entry.period,
                       submitted_by=f"{entry.province}-{channel}", channel=channel,
                       received_at=dt.datetime.fromisoformat(entry.received_at))


def _progress(total: int, label: str):
    from rich.progress import Progress

    progress = Progress(transient=True)
    task = progress.add_task(label, total=total)
    progress.start()

    def advance() -> None:
        progress.advance(task)
        if progress.tasks[0].completed >= total:
            progress.stop()

    return advance

