"""The statistical annex of the annual report (OECD/JRC handbook on composite indicators): the
multivariate structure of the index's indicators and the sensitivity of the ranks, from the marts
(rpt_unit_scores: each ranked station's peer-group z-scores; rpt_rank_sensitivity: its ranks under the
alternative choices).

- Correlations between the indicators (Pearson, over the ranked stations with both): a pair above
  0.9 counts the same thing twice; an indicator correlating with nothing adds noise or a new dimension.
- Principal components of the correlation matrix: how many dimensions the indicators really carry.
- Effective against nominal weights: an indicator's importance in the result is measured by its squared
  correlation with the index (the first-order effect of Paruolo, Saisana and Saltelli 2013), normalised
  to sum to 1, beside the nominal weight it was given (pillar weight x share in the pillar).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from publishing.config import ScoringConfig

REDUNDANT = 0.9


@dataclass(frozen=True)
class ScenarioSummary:
    label: str
    median_shift: float
    p90_shift: float
    share_moved_over_10: float       # of ranked stations, moved more than 10 national places


@dataclass(frozen=True)
class AwardStability:
    unit_code: str
    unit_name: str
    scope: str
    province_code: str
    share_of_scenarios: float        # alternative scenarios in which it stays within the award cut-off


@dataclass
class Annex:
    correlation: pd.DataFrame        # indicator x indicator
    redundant_pairs: list[tuple[str, str, float]]
    isolated: list[str]              # indicators whose largest correlation with another is under 0.1
    components: pd.DataFrame         # component, eigenvalue, share, cumulative share
    weights: pd.DataFrame            # indicator, label, pillar, nominal, effective
    index_pillar_correlation: dict[str, float]
    scenarios: list[ScenarioSummary]
    awards: list[AwardStability]
    stations: int


def _z_matrix(scores: pd.DataFrame, rankings: pd.DataFrame, config: ScoringConfig) -> pd.DataFrame:
    ranked = set(rankings.loc[rankings["is_ranked"], "unit_code"])
    z = scores[scores["unit_code"].isin(ranked)].pivot(index="unit_code", columns="indicator_code", values="z_score")
    return z[[i.code for i in config.indicators if i.code in z.columns]]


def nominal_weights(config: ScoringConfig) -> dict[str, float]:
    """Each indicator's share of the index at the nominal weights (pillar weight x share in the pillar)."""
    total = sum(p.weight for p in config.pillars)
    weights = {}
    for pillar in config.pillars:
        members = config.pillar_indicators(pillar.name)
        inside = sum(i.weight for i in members)
        for indicator in members:
            weights[indicator.code] = pillar.weight / total * indicator.weight / inside
    return weights


def _components(correlation: pd.DataFrame) -> pd.DataFrame:
    eigenvalues = np.sort(np.linalg.eigvalsh(correlation.fillna(0).to_numpy()))[::-1]
    share = eigenvalues / eigenvalues.sum()
    return pd.DataFrame({"component": np.arange(1, len(eigenvalues) + 1), "eigenvalue": eigenvalues,
                         "share": share, "cumulative": np.cumsum(share)})


def _scenarios(sensitivity: pd.DataFrame) -> list[ScenarioSummary]:
    rows = []
    for (scenario, label), group in sensitivity.groupby(["scenario", "scenario_label"], sort=False):
        if scenario == "published":
            continue
        shift = group["national_rank_shift"]
        rows.append(ScenarioSummary(label, float(shift.median()), float(shift.quantile(0.9)),
                                    float((shift > 10).mean())))
    return rows


def _award_stability(sensitivity: pd.DataFrame, awards: pd.DataFrame, rankings: pd.DataFrame) -> list[AwardStability]:
    alternatives = sensitivity[sensitivity["scenario"] != "published"]
    names = rankings.set_index("unit_code")["unit_name"]
    rows = []
    for award in awards[awards["status"] == "awarded"].itertuples():
        mine = alternatives[alternatives["unit_code"] == award.unit_code]
        column = "within_national_cut_off" if award.award_scope == "national" else "within_province_cut_off"
        rows.append(AwardStability(award.unit_code, names.get(award.unit_code, award.unit_code), award.award_scope,
                                   award.province_code, float(mine[column].mean()) if len(mine) else float("nan")))
    return rows


def build_annex(scores: pd.DataFrame, rankings: pd.DataFrame, sensitivity: pd.DataFrame, awards: pd.DataFrame,
                config: ScoringConfig) -> Annex:
    z = _z_matrix(scores, rankings, config)
    correlation = z.corr(min_periods=10)
    pairs = [(a, b, float(correlation.loc[a, b])) for i, a in enumerate(correlation.columns)
             for b in correlation.columns[i + 1:] if abs(correlation.loc[a, b]) >= REDUNDANT]
    off_diagonal = correlation.where(~np.eye(len(correlation), dtype=bool)).abs()
    isolated = [code for code in correlation.columns if off_diagonal[code].max() < 0.1]
    index = rankings.loc[rankings["is_ranked"]].set_index("unit_code")["index_score"].astype(float)
    with_index = z.corrwith(index.reindex(z.index)) ** 2
    nominal = nominal_weights(config)
    labels = {i.code: i for i in config.indicators}
    weights = pd.DataFrame({"indicator": list(z.columns), "label": [labels[c].label for c in z.columns],
                            "pillar": [labels[c].pillar for c in z.columns],
                            "nominal": [nominal[c] for c in z.columns],
                            "effective": (with_index / with_index.sum()).to_numpy()})
    pillar_scores = rankings.loc[rankings["is_ranked"]].set_index("unit_code")
    pillar_correlation = {p.label: float(pillar_scores[f"{p.name}_score"].astype(float).corr(index))
                          for p in config.pillars}
    return Annex(correlation, pairs, isolated, _components(correlation), weights, pillar_correlation,
                 _scenarios(sensitivity), _award_stability(sensitivity, awards, rankings), len(z))
