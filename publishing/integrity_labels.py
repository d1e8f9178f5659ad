"""The recording-integrity flags of marts.rpt_integrity_flags_unit_month / _unit_year, in words: one home
for the portal's integrity screen, the station scorecards and the monthly bulletin."""
from __future__ import annotations

FLAG_LABELS = {"fir_collapse": "FIRs collapsed, complaints steady", "copied_month": "Month copied from the last",
               "rounded_figures": "Figures rounded to tens", "zero_run": "Zeros for months running",
               "constant_reporting": "Same figure month after month"}
