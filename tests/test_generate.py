"""The sample-return generator: deterministic, in each province's own format, realistic, and messy."""
from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from hub.generate import generate_returns, read_manifest
from cop.registry import load_registry
from cop.spec import load_amendment, load_form


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    generate_returns(out, years=2, seed=11)
    return out


def read_rows(sample: Path, relative: str) -> list[dict]:
    """A generated file read back with the province's own format, keyed by national field."""
    province = relative.split("/")[0]
    amendment = load_amendment(province)
    lookup = amendment.header_lookup(load_form())
    content = (sample / relative).read_bytes()
    if amendment.file.format == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True)[amendment.file.sheet or "Return"]
        table = [list(r) for r in sheet.iter_rows(values_only=True)]
    else:
        text = content.decode(amendment.file.encoding)
        table = list(csv.reader(io.StringIO(text), delimiter=amendment.file.delimiter))
    header = [lookup[h.strip().casefold()] if h.strip().casefold() in lookup else h for h in table[0]]
    return [dict(zip(header, row)) for row in table[1:]]


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(sample, tmp_path):
    again = tmp_path / "again"
    generate_returns(again, years=2, seed=11)
    assert _digest(again) == _digest(sample)
    other = tmp_path / "other"
    generate_returns(other, years=2, seed=12)
    assert _digest(other) != _digest(sample)


def test_each_province_in_its_own_format(sample):
    assert (sample / "SD" / "SD_2025-01.csv").read_bytes().startswith("\ufeff".encode("utf-8"))
    assert (sample / "KP" / "KP_2025-01.csv").read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    workbook = openpyxl.load_workbook(sample / "PB" / "PB_2025-01.xlsx", read_only=True)
    assert workbook.sheetnames == ["COP Return"]
    sd_header = (sample / "SD" / "SD_2025-01.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert "کھلی کچہری" in sd_header.split(";")
    kp_header = (sample / "KP" / "KP_2025-01.csv").read_text(encoding="utf-16").splitlines()[0].split("\t")
    assert "social_media_posts" not in kp_header and "DRC Referrals" in kp_header


def test_one_file_per_province_per_month_plus_the_mess(sample):
    manifest = read_manifest(sample)
    kinds = Counter(entry.kind for entry in manifest)
    assert kinds["late"] >= 5 and kinds["revision"] >= 2 and kinds["blocking_errors"] >= 2
    assert kinds["fixed_resubmission"] >= 1
    sent = {(e.province, e.period) for e in manifest}
    assert len(sent) == 7 * 24 - 1, "one province-month is never sent"
    assert any("missing" in e.note for e in manifest) and any("typing_x10" in e.note for e in manifest)
    assert all((sample / e.file).exists() for e in manifest)
    assert [e.received_at for e in manifest] == sorted(e.received_at for e in manifest)


def test_rows_cover_the_units_open_that_month(sample):
    rows = read_rows(sample, "IC/IC_2025-06.csv")
    import datetime as dt
    expected = {u.unit_code for u in load_registry().units_open("IC", dt.date(2025, 6, 1))}
    dropped = {note.split()[-1] for e in read_manifest(sample) if e.file == "IC/IC_2025-06.csv"
               for note in e.note.split("; ") if note.startswith("missing")}
    assert {r["unit_code"] for r in rows} == expected - dropped


def test_clean_files_respect_the_blocking_rules(sample):
    form = load_form()
    blocking = [r for r in form.cross_field_rules if r.severity == "error"]
    for entry in read_manifest(sample):
        if entry.expected_status != "accepted" or entry.province not in ("BA", "IC"):
            continue
        for row in read_rows(sample, entry.file):
            for rule in blocking:
                left, right = row.get(rule.left), row.get(rule.right)
                if left not in (None, "") and right not in (None, ""):
                    assert float(left) <= float(right), (entry.file, row["unit_code"], rule.code)
            for field in form.fields:
                value = row.get(field.name)
                if value not in (None, ""):
                    assert 0 <= float(value) <= field.max, (entry.file, field.name, value)


def test_magnitudes_are_realistic(sample):
    registry = load_registry()
    import datetime as dt
    urban_rate, rural_rate, meetings_first, meetings_last = [], [], 0, 0
    for period, bucket in (("2024-03", "first"), ("2025-10", "last")):
        rows = read_rows(sample, f"IC/IC_{period}.csv") + read_rows(sample, f"GB/GB_{period}.csv")
        for row in rows:
            unit = registry.unit_in(row["unit_code"], dt.date(int(period[:4]), int(period[5:]), 1))
            rate = float(row["street_crime_reported"]) / unit.population * 100_000
            (urban_rate if unit.urban_rural == "urban" else rural_rate).append(rate)
            if bucket == "first":
                meetings_first += int(row["community_meetings_held"])
            else:
                meetings_last += int(row["community_meetings_held"])
    assert sum(urban_rate) / len(urban_rate) > 2 * sum(rural_rate) / len(rural_rate)
    assert meetings_last > meetings_first, "community policing activity builds up over time"


def test_planted_anomalies_are_labelled_and_in_the_files(sample):
    """Every kind of mistake is planted, labelled, and the labelled cell holds the planted value."""
    from hub.anomalies import KINDS, SINGLE_VALUE_KINDS, read_anomalies

    labels = read_anomalies(sample)
    assert {a.kind for a in labels} == set(KINDS)
    first_accepted = {}
    for entry in read_manifest(sample):
        if entry.expected_status == "accepted":
            first_accepted.setdefault((entry.province, entry.period), entry)
    checked = 0
    for label in [a for a in labels if a.kind in SINGLE_VALUE_KINDS and a.province in ("IC", "GB", "SD")][:10]:
        row = next(r for r in read_rows(sample, first_accepted[(label.province, label.period)].file)
                   if r["unit_code"] == label.unit_code)
        for field, planted in zip(label.fields.split(";"), label.planted.split(";")):
            assert float(row[field]) == float(planted)
        checked += 1
    assert checked > 0
