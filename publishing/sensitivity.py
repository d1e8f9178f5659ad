"""Sensitivity analysis of the COP performance index (OECD/JRC handbook, step 7): the ranks again under
each alternative choice the index could have made, one at a time, on the point estimates.

Scenarios: equal weights; min-max and percentile-rank normalisation instead of z-scores; a geometric
mean of the pillars instead of the arithmetic one (a weak pillar is not fully offset by a strong one);
one national peer group instead of urban/rural x size band; the other rule for indicators not collected;
raw rates instead of empirically shrunk ones. The report reads the result from marts.rpt_rank_sensitivity:
the median shift of a station's rank from the published one, and the share of scenarios in which each
award winner is still within the award's cut-off.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from publishing.config import ScoringConfig
from publishing.scoring import (IndicatorModel, award_cut_offs, composite, nominal_weights, peer_z_scores,
                               ranks_desc)


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    normalisation: str = "z_score"      # z_score | min_max | percentile
    weights: str = "nominal"            # nominal | equal
    aggregation: str = "arithmetic"     # arithmetic | geometric (of the pillars)
    peer_groups: str = "peer"           # peer | national
    not_collected: str | None = None    # None: as configured; else the other rule
    shrunk: bool = True


BASELINE = Scenario("published", "As published")


def scenarios(config: ScoringConfig) -> list[Scenario]:
    other = "renormalise" if config.not_collected == "typical" else "typical"
    return [BASELINE,
            Scenario("equal_weights", "Equal weights (indicators and pillars)", weights="equal"),
            Scenario("min_max", "Min-max normalisation within the peer group", normalisation="min_max"),
            Scenario("percentile", "Percentile-rank normalisation within the peer group", normalisation="percentile"),
            Scenario("geometric", "Geometric mean of the pillars", aggregation="geometric"),
            Scenario("national_peers", "One national peer group (no urban/rural or size bands)",
                     peer_groups="national"),
            Scenario("not_collected", f"Indicators not collected: {other} instead of {config.not_collected}",
                     not_collected=other),
            Scenario("raw_rates", "Raw rates (no empirical-Bayes shrinkage)", shrunk=False)]


def _normalise(values: np.ndarray, groups: np.ndarray, reference: np.ndarray, sign: int, config: ScoringConfig,
               method: str) -> np.ndarray:
    """values (units, 1) to a score centred on the peer group's typical unit (0), higher = better."""
    if method == "z_score":
        return peer_z_scores(values, groups, reference, sign, config.clip)
    result = np.full(values.shape, np.nan)
    for group in np.unique(groups):
        rows = groups == group
        peers = values[rows & reference, 0]
        peers = peers[~np.isnan(peers)]
        if peers.size == 0:
            continue
        own = values[rows, 0]
        if method == "min_max":
            span = peers.max() - peers.min()
            scaled = (own - peers.min()) / span - 0.5 if span > 0 else np.zeros_like(own)
        else:
            scaled = np.searchsorted(np.sort(peers), own, side="right") / peers.size - 0.5
        result[rows, 0] = np.where(np.isnan(own), np.nan, sign * scaled)
    return result


def _weights(config: ScoringConfig, scenario: Scenario):
    indicator_weights, pillar_weights = nominal_weights(config)
    if scenario.weights == "equal":
        indicator_weights = {code: np.ones(1) for code in indicator_weights}
        pillar_weights = np.ones_like(pillar_weights)
    return indicator_weights, pillar_weights


def scenario_index(models: list[IndicatorModel], units: pd.DataFrame, groups: pd.Series, ranked: np.ndarray,
                   config: ScoringConfig, scenario: Scenario) -> np.ndarray:
    """The index (units,) under one scenario; NaN for units not ranked."""
    if scenario.not_collected:
        config = replace(config, not_collected=scenario.not_collected)
    peer = groups.to_numpy() if scenario.peer_groups == "peer" else np.full(len(groups), "national")
    z = {}
    for model in models:
        values = (model.point if scenario.shrunk else model.raw).reindex(units.index).to_numpy()[:, None]
        z[model.indicator.code] = _normalise(values, peer, ranked, model.indicator.sign, config,
                                             scenario.normalisation)
    indicator_weights, pillar_weights = _weights(config, scenario)
    pillars, index = composite(z, config, indicator_weights, pillar_weights)
    if scenario.aggregation == "geometric":
        index = _geometric(pillars, pillar_weights, config)
    return np.where(ranked, index[:, 0], np.nan)


def _geometric(pillars: dict[str, np.ndarray], weights: np.ndarray, config: ScoringConfig) -> np.ndarray:
    """Weighted geometric mean of the pillar scores on the published scale (always positive: z is clipped)."""
    scores = np.stack([config.score_centre + config.score_spread * p for p in pillars.values()])
    logs = np.log(np.maximum(scores, 1e-6))
    w = weights[:, None, :] * ~np.isnan(logs)
    with np.errstate(invalid="ignore", divide="ignore"):   # units without pillars (not ranked): NaN
        return np.exp(np.nansum(logs * w, axis=0) / w.sum(axis=0))


def scenario_ranks(models: list[IndicatorModel], units: pd.DataFrame, groups: pd.Series, ranked: np.ndarray,
                   config: ScoringConfig) -> pd.DataFrame:
    """One row per scenario and ranked unit: its index, national and provincial rank, and the award
    cut-offs of its fields (the same in every scenario: the number of units ranked does not change)."""
    ranked_units = units.loc[ranked]
    cut_offs = award_cut_offs(ranked_units.assign(is_ranked=True), config)
    frames = []
    for scenario in scenarios(config):
        index = scenario_index(models, units, groups, ranked, config, scenario)[ranked]
        frame = pd.DataFrame({"scenario": scenario.name, "scenario_label": scenario.label,
                              "unit_code": ranked_units.index, "province_code": ranked_units["province_code"].to_numpy(),
                              "index_score": index,
                              "national_rank": ranks_desc(index[:, None])[:, 0],
                              "national_cut_off": cut_offs["national"].to_numpy(),
                              "province_cut_off": cut_offs["province"].to_numpy()})
        frame["province_rank"] = frame.groupby("province_code")["index_score"].rank(
            ascending=False, method="first").astype(int)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
