"""Each indicator's level for the nation and each province, by year and by month, for a year and the
year before: the index's indicators and the context (recorded crime, complaints). Stored with the
scoring run (scores.indicator_levels) so that the report's changes and trends are read from a mart
(marts.rpt_indicator_levels computes the change and its direction), never recomputed by the report.

A level is the sum of the numerators over the units' reported months divided by the sum of the
exposures (months not reported are left out, never zero); a head count is each unit's monthly average.
A month's population rate is per year at that month's pace (its exposure is a twelfth of a
person-year), so months and years compare.
"""
from __future__ import annotations

import pandas as pd

from publishing.config import Indicator, ScoringConfig
from publishing.scoring import annual_evidence

NATION = "PK"
LEVEL_COLUMNS = ["area_kind", "area_code", "period_kind", "period", "indicator_code", "indicator_label", "pillar",
                 "kind", "direction", "numerator", "exposure", "value", "units_reporting"]


def _levels(months: pd.DataFrame, indicator: Indicator, period_kind: str) -> pd.DataFrame:
    periods = months["month"].dt.to_period("Y" if period_kind == "year" else "M").dt.start_time
    frame = months.assign(period=periods, nation=NATION)
    rows = []
    for area_kind, column in (("nation", "nation"), ("province", "province_code")):
        evidence = annual_evidence(frame, indicator, keys=("unit_code", column, "period"))
        sums = evidence.groupby([column, "period"]).agg(numerator=("numerator", "sum"),
                                                        exposure=("exposure", "sum"),
                                                        units_reporting=("numerator", "size"))
        sums = sums[sums["exposure"] > 0].reset_index().rename(columns={column: "area_code"})
        rows.append(sums.assign(area_kind=area_kind))
    result = pd.concat(rows, ignore_index=True)
    return result.assign(period_kind=period_kind, value=result["numerator"] / result["exposure"])


def monthly_levels(months: pd.DataFrame, indicators: list[Indicator]) -> pd.DataFrame:
    """Each indicator's level (a trend: the level it follows) by month, for the nation and each province."""
    frames = [_levels(months, indicator, "month").assign(indicator_code=indicator.code)
              for indicator in (i.level() for i in indicators)]
    return pd.concat(frames, ignore_index=True)[["area_kind", "area_code", "period", "indicator_code", "value",
                                                 "units_reporting"]]


def indicator_levels(this_year: pd.DataFrame, last_year: pd.DataFrame, config: ScoringConfig) -> pd.DataFrame:
    """Levels of every indicator (a trend: the level it follows) for both years, nation and provinces."""
    months = pd.concat([last_year, this_year], ignore_index=True)
    frames = []
    for indicator in (i.level() for i in (*config.indicators, *config.context)):
        for period_kind in ("year", "month"):
            frames.append(_levels(months, indicator, period_kind).assign(
                indicator_code=indicator.code, indicator_label=indicator.label, pillar=indicator.pillar,
                kind=indicator.kind, direction=indicator.direction))
    levels = pd.concat(frames, ignore_index=True)
    levels["period"] = levels["period"].dt.date
    return levels[LEVEL_COLUMNS]
