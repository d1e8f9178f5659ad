"""Planted anomalies: how well the intake's warnings and the integrity screen find the mistakes the
generator planted (hub/anomalies.py, labels in the samples' anomalies.csv), and how many warnings a
file carries.

Measured on the latest accepted version of every province-month (the file the labels describe) and
on the warehouse's integrity marts. Recall: the share of a kind's planted anomalies that a rule
flagged. Precision: the share of a rule's warnings (or flags) that point at a planted anomaly.

    cop-bench --section anomalies --years 3     # this section alone, on its own samples and database
"""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor

from bench.common import Samples, console
from cop import db
from hub.anomalies import (INTEGRITY_KINDS, KINDS, MATERIAL_FACTOR, MATERIAL_MIN_CHANGE, ROW_KINDS,
                           SINGLE_VALUE_KINDS, Anomaly, is_material, read_anomalies)

VALUE_RULE, ROW_RULES = "W301", {"copied_row": "W302", "all_zeros": "W303"}
# Which integrity flag answers which planted kind (a copied row is also a copied month).
FLAG_FOR_KIND = {"fir_collapse": "fir_collapse", "copied_row": "copied_month", "rounded_tens": "rounded_figures"}
PUNJAB = "PB"

CURRENT_FILES = """
    select distinct on (province_code, period) submission_id, province_code, to_char(period, 'YYYY-MM')
    from raw.submissions where status = 'accepted' order by province_code, period, version desc
"""
WARNINGS = """
    select submission_id, rule, unit_code, field from audit.problems
    where submission_id = any(%s) and rule = any(%s)
"""
FLAGS = "select province_code, unit_code, to_char(month, 'YYYY-MM'), flag from marts.rpt_integrity_flags_unit_month"
UNIT_MONTHS = "select count(*) from marts.fct_unit_month"


def measure_anomalies(samples: Samples) -> dict:
    """The figures, from a database holding every sample file and a built warehouse."""
    labels = read_anomalies(samples.folder)
    with db.connect() as conn:
        files = {row[0]: (row[1], row[2]) for row in conn.execute(CURRENT_FILES)}
        warnings = [(files[s][0], files[s][1], rule, unit, field) for s, rule, unit, field in
                    conn.execute(WARNINGS, (list(files), [VALUE_RULE, *ROW_RULES.values()]))]
        flags = [tuple(row) for row in conn.execute(FLAGS)]
        unit_months = conn.execute(UNIT_MONTHS).fetchone()[0]
    sent = {(province, period) for province, period in files.values()}
    labels = [a for a in labels if (a.province, a.period) in sent]
    figures = {"files": len(files), "planted": dict(Counter(a.kind for a in labels))}
    figures |= _value_warnings(labels, warnings, files)
    figures["row_rules"] = {kind: _row_rule(labels, warnings, kind) for kind in ROW_KINDS}
    figures["integrity"] = _integrity(labels, flags, unit_months)
    return figures


def _value_warnings(labels: list[Anomaly], warnings: list[tuple], files: dict) -> dict:
    planted_cells = {(a.province, a.period, a.unit_code, name) for a in labels if a.fields
                     for name in a.fields.split(";")}
    flagged = [(p, m, u, f) for p, m, rule, u, f in warnings if rule == VALUE_RULE]
    flagged_set = set(flagged)

    def recall(planted: list[Anomaly]) -> float | None:
        return _share(sum(any((a.province, a.period, a.unit_code, f) in flagged_set for f in a.fields.split(";"))
                          for a in planted), len(planted))

    single = [a for a in labels if a.kind in SINGLE_VALUE_KINDS]
    material = [a for a in single if is_material(a)]
    on_planted = sum(cell in planted_cells for cell in flagged)
    punjab_files = sum(1 for province, _ in files.values() if province == PUNJAB)
    return {VALUE_RULE: {
        "recall_single_value": recall(single),
        "recall_by_kind": {kind: recall([a for a in single if a.kind == kind]) for kind in SINGLE_VALUE_KINDS},
        "material": len(material),
        "recall_material": recall(material),
        "recall_material_by_kind": {kind: recall([a for a in material if a.kind == kind])
                                    for kind in SINGLE_VALUE_KINDS},
        "planted_by_kind": dict(Counter(a.kind for a in single)),
        "material_by_kind": dict(Counter(a.kind for a in material)),
        "precision": _share(on_planted, len(flagged)),
        "warnings": len(flagged),
        "per_file": round(len(flagged) / max(len(files), 1), 2),
        "per_punjab_file": round(sum(1 for p, *_ in flagged if p == PUNJAB) / max(punjab_files, 1), 2)}}


def _row_rule(labels: list[Anomaly], warnings: list[tuple], kind: str) -> dict:
    rule = ROW_RULES[kind]
    planted = {(a.province, a.period, a.unit_code) for a in labels if a.kind == kind}
    raised = {(p, m, u) for p, m, r, u, _ in warnings if r == rule}
    return {"rule": rule, "recall": _share(len(planted & raised), len(planted)),
            "precision": _share(len(planted & raised), len(raised)), "warnings": len(raised)}


def _integrity(labels: list[Anomaly], flags: list[tuple], unit_months: int) -> dict:
    planted_months = {(a.province, a.period, a.unit_code) for a in labels}
    raised: dict[str, set] = defaultdict(set)
    for province, unit, month, flag in flags:
        raised[flag].add((province, month, unit))
    clean_months = max(unit_months - len(planted_months), 1)
    figures = {}
    for kind, flag in FLAG_FOR_KIND.items():
        planted = {(a.province, a.period, a.unit_code) for a in labels if a.kind == kind}
        figures[kind] = {"flag": flag, "recall": _share(len(planted & raised[flag]), len(planted))}
    for flag, months in sorted(raised.items()):
        false_alarms = len(months - planted_months)
        figures.setdefault("flags", {})[flag] = {
            "raised": len(months), "on_planted": len(months & planted_months),
            "false_alarm_rate": round(false_alarms / clean_months, 6), "false_alarms": false_alarms}
    figures["unit_months"] = unit_months
    return figures


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def markdown(figures: dict) -> str:
    value = figures[VALUE_RULE]
    lines = ["## Planted anomalies: what the warnings and the integrity screen find", "",
             f"{figures['files']} accepted files; planted: "
             + ", ".join(f"{kind} {figures['planted'].get(kind, 0)}" for kind in KINDS) + ".", "",
             "| rule | anomaly kind | recall | precision | warnings |", "|---|---|---:|---:|---:|",
             f"| W301 unusual value | single values (all {sum(value['planted_by_kind'].values())}) | "
             f"{_pct(value['recall_single_value'])} | {_pct(value['precision'])} | {value['warnings']} |",
             f"| W301 unusual value | single values (material {value['material']}) | "
             f"{_pct(value['recall_material'])} | | |"]
    lines += [f"| W301 unusual value | {kind}: all {value['planted_by_kind'].get(kind, 0)} / material "
              f"{value['material_by_kind'].get(kind, 0)} | {_pct(share)} / "
              f"{_pct(value['recall_material_by_kind'][kind])} | | |"
              for kind, share in value["recall_by_kind"].items()]
    lines += [f"| {r['rule']} | {kind} | {_pct(r['recall'])} | {_pct(r['precision'])} | {r['warnings']} |"
              for kind, r in figures["row_rules"].items()]
    integrity = figures["integrity"]
    lines += [f"| integrity: {integrity[kind]['flag']} | {kind} | {_pct(integrity[kind]['recall'])} | | |"
              for kind in FLAG_FOR_KIND]
    lines += ["", f"W301 warnings per file: {value['per_file']} on average, {value['per_punjab_file']} per Punjab file.",
              "", f"Material single value: a planted mistake that moves a figure by at least {MATERIAL_MIN_CHANGE} and "
              f"at least multiplies or divides it by {MATERIAL_FACTOR} (hub/anomalies.py); smaller ones (34 typed as "
              "43, neighbouring cells of 5 and 7 swapped) sit inside a unit's ordinary month-to-month variation. "
              "Precision counts a warning on any planted cell.",
              "", "| integrity flag | unit-months flagged | on a planted anomaly | false-alarm rate (clean unit-months) |",
              "|---|---:|---:|---:|"]
    lines += [f"| {flag} | {f['raised']} | {f['on_planted']} | {f['false_alarm_rate']:.4%} ({f['false_alarms']}) |"
              for flag, f in integrity.get("flags", {}).items()]
    return "\n".join(lines) + "\n"


def _pct(share: float | None) -> str:
    return "–" if share is None else f"{share:.0%}"


def run_section(years: int, seed: int, workers: int) -> dict:
    """This section alone: fresh samples in the benchmark's home, every file submitted, one build."""
    import multiprocessing

    from bench.backfill import _build, submit_months
    from hub.generate import generate_returns
    from cop.paths import state_dir

    samples = Samples(state_dir("samples") / f"years{years}-seed{seed}")
    generate_returns(samples.folder, years=years, seed=seed, progress=True,
                     end=dt.date(2025, 12, 1))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        submit_months(samples, samples.periods, pool)
    console.print("building the warehouse")
    _build(full_refresh=True)
    return measure_anomalies(samples)
