"""The COP performance index: pure functions on pandas DataFrames, driven by spec/scoring.yaml.

The steps follow the OECD/JRC handbook on composite indicators:
1. annual evidence per unit and indicator, from the months the unit reported (never a missing month
   as zero): a rate's numerator and exposure, or a proportion's successes and trials;
2. empirical-Bayes shrinkage within the peer group (gamma-Poisson for rates, beta-binomial for
   proportions, priors by the method of moments), so a small unit's noisy rate moves toward its
   peers' and a large unit's hardly moves;
3. normalisation: z-scores within the peer group (urban/rural x size band), signed so that higher is
   better, clipped;
4. aggregation: weighted mean of the indicators of each pillar, weighted mean of the pillars;
5. uncertainty: Monte Carlo over the posterior of every rate (the count noise) and over the weights
   (Dirichlet around the nominal ones) gives each unit a median rank and a rank interval;
6. awards only where the whole interval lies in the top share of the field, and the year is clean.

Inputs:
- `months`: one row per unit-month reported (latest accepted return): unit_code, month, population
  and the national fields (NaN = unknown or not collected);
- `units`: one row per unit expected in the year: unit_code, province_code, urban_rural,
  population, months_expected, months_reported (other columns are carried through).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from publishing.config import Indicator, ScoringConfig

PER_100K = 100_000
MONTHS_PER_YEAR = 12
BATCH_DRAWS = 250
TINY = 1e-9


# ---------------------------------------------------------------- peer groups and eligibility


def size_band(population: float, config: ScoringConfig) -> str:
    for band in config.size_bands:
        if band.below is None or population < band.below:
            return band.name
    raise AssertionError("the last size band has no upper bound")


def peer_groups(units: pd.DataFrame, config: ScoringConfig) -> pd.Series:
    bands = units["population"].map(lambda p: size_band(p, config))
    return (units["urban_rural"] + ", " + bands).rename("peer_group")


def months_reason(months_reported: int, months_expected: int, config: ScoringConfig) -> str | None:
    if months_reported >= config.min_months_reported:
        return None
    return (f"reported {months_reported} of {months_expected} months expected; "
            f"at least {config.min_months_reported} are needed to be ranked")


# ---------------------------------------------------------------- annual evidence


def _exposure_per_month(months: pd.DataFrame, per: str) -> pd.Series:
    if per == "population":
        return months["population"] / PER_100K
    if per == "officers":
        return months["officers_posted"]
    return pd.Series(1.0, index=months.index)


def annual_evidence(months: pd.DataFrame, indicator: Indicator, keys: tuple[str, ...] = ("unit_code",)) -> pd.DataFrame:
    """Per unit (or other `keys`): numerator, exposure (a rate's person-years/100,000, officer-years
    or months; a proportion's trials) and months_used, from the months where every input was
    reported. Flows are summed and scaled to a year; stocks (head counts) are monthly averages."""
    known = months[list(indicator.fields)].notna().all(axis=1)
    if indicator.per == "officers":
        known &= months["officers_posted"] > 0
    used = months[known]
    numerator = used[list(indicator.numerator)].sum(axis=1)
    if indicator.kind == "proportion":
        exposure = used[indicator.denominator]
    else:
        exposure = _exposure_per_month(used, indicator.per)
        if not indicator.stock and indicator.per != "unit_month":
            exposure = exposure / MONTHS_PER_YEAR
    frame = used[list(keys)].assign(numerator=numerator, exposure=exposure)
    grouped = frame.groupby(list(keys))
    how = "mean" if indicator.stock else "sum"
    evidence = grouped[["numerator", "exposure"]].agg(how)
    evidence["months_used"] = grouped.size()
    if indicator.kind == "proportion":
        # A backlog from earlier months can make resolved exceed received: the share is capped at 1.
        evidence["numerator"] = evidence[["numerator", "exposure"]].min(axis=1)
    return evidence[evidence["exposure"] > 0]


# ---------------------------------------------------------------- empirical Bayes


@dataclass(frozen=True)
class Posterior:
    """Per unit: the raw estimate, the posterior parameters and mean, and how far it was shrunk."""
    kind: str                 # gamma (rates), beta (proportions) or exact (head counts)
    raw: pd.Series
    first: pd.Series          # gamma shape / beta a
    second: pd.Series         # gamma rate / beta b
    mean: pd.Series
    weight_on_own_data: pd.Series

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        if self.kind == "exact":
            return np.repeat(self.mean.to_numpy()[:, None], size, axis=1)
        first = self.first.to_numpy()[:, None]
        second = self.second.to_numpy()[:, None]
        if self.kind == "gamma":
            return rng.gamma(np.maximum(first, TINY), 1.0 / second, size=(len(first), size))
        return rng.beta(np.maximum(first, TINY), np.maximum(second, TINY), size=(len(first), size))


def gamma_poisson_prior(counts: np.ndarray, exposure: np.ndarray) -> tuple[float, float]:
    """Method-of-moments gamma prior (shape, rate) for Poisson rates (Marshall 1991): the variance
    of the rates between units beyond what Poisson noise alone explains."""
    mean = counts.sum() / exposure.sum()
    if mean <= 0:
        return 0.0, 1.0
    rates = counts / exposure
    spread = np.sum(exposure * (rates - mean) ** 2) / exposure.sum()
    between = spread - mean / exposure.mean()
    between = max(between, (0.01 * mean) ** 2)   # all differences are noise: shrink (almost) fully
    return mean ** 2 / between, mean / between


def beta_binomial_prior(successes: np.ndarray, trials: np.ndarray) -> tuple[float, float]:
    """Method-of-moments beta prior (a, b) for binomial proportions."""
    mean = successes.sum() / trials.sum()
    if mean <= 0 or mean >= 1:
        return TINY, TINY
    shares = successes / trials
    spread = np.sum(trials * (shares - mean) ** 2) / trials.sum()
    between = spread - mean * (1 - mean) / trials.mean()
    between = min(max(between, (0.01 * mean) ** 2), 0.99 * mean * (1 - mean))
    total = mean * (1 - mean) / between - 1
    return mean * total, (1 - mean) * total


def exact(evidence: pd.DataFrame) -> Posterior:
    """Head counts (officers posted, trained, women; groups active) are a census of the unit, not a
    sample: no sampling noise to shrink or to draw."""
    value = evidence["numerator"] / evidence["exposure"]
    nothing = pd.Series(np.nan, index=evidence.index)
    return Posterior("exact", value, nothing, nothing, value, pd.Series(1.0, index=evidence.index))


def shrink(evidence: pd.DataFrame, groups: pd.Series, kind: str) -> Posterior:
    """Shrink each unit's estimate toward its peer group's, by a prior fitted to the peer group."""
    first = pd.Series(np.nan, index=evidence.index)
    second = pd.Series(np.nan, index=evidence.index)
    prior = gamma_poisson_prior if kind == "rate" else beta_binomial_prior
    for _, members in evidence.groupby(groups.reindex(evidence.index)):
        a, b = prior(members["numerator"].to_numpy(float), members["exposure"].to_numpy(float))
        failures = 0 if kind == "rate" else members["numerator"]
        first[members.index] = a + members["numerator"]
        second[members.index] = b + members["exposure"] - failures
    raw = evidence["numerator"] / evidence["exposure"]
    if kind == "rate":
        mean = first / second
        own = evidence["exposure"] / second
    else:
        mean = first / (first + second)
        own = evidence["exposure"] / (first + second)
    return Posterior("gamma" if kind == "rate" else "beta", raw, first, second, mean, own)


# ---------------------------------------------------------------- one indicator, all units


@dataclass(frozen=True)
class IndicatorModel:
    """An indicator's evidence and posteriors for the units, aligned on the units' index."""
    indicator: Indicator
    evidence: pd.DataFrame
    posterior: Posterior
    previous: Posterior | None = None    # trend: last year's rates

    @property
    def point(self) -> pd.Series:
        if self.indicator.kind == "trend":
            return np.log(self.posterior.mean / self.previous.mean)
        return self.posterior.mean

    @property
    def raw(self) -> pd.Series:
        if self.indicator.kind == "trend":
            with np.errstate(divide="ignore"):
                return np.log(self.posterior.raw / self.previous.raw).replace([np.inf, -np.inf], np.nan)
        return self.posterior.raw

    def draw(self, rng: np.random.Generator, size: int, index: pd.Index) -> np.ndarray:
        """Posterior draws for every unit of `index` (NaN where the unit has no evidence)."""
        values = np.full((len(index), size), np.nan)
        rows = index.get_indexer(self.posterior.mean.index)
        current = self.posterior.draw(rng, size)
        if self.indicator.kind == "trend":
            current = np.log(np.maximum(current, TINY) / np.maximum(self.previous.draw(rng, size), TINY))
        values[rows] = current
        return values


def model_indicator(indicator: Indicator, months: pd.DataFrame, previous_months: pd.DataFrame,
                    groups: pd.Series, config: ScoringConfig) -> IndicatorModel:
    kind = "proportion" if indicator.kind == "proportion" else "rate"
    evidence = annual_evidence(months, indicator)
    evidence = evidence[evidence.index.isin(groups.index)]
    if indicator.stock:
        return IndicatorModel(indicator, evidence, exact(evidence))
    if indicator.kind != "trend":
        return IndicatorModel(indicator, evidence, shrink(evidence, groups, kind))
    before = annual_evidence(previous_months, indicator)
    before = before[before.index.isin(groups.index) & (before["months_used"] >= config.min_months_previous_year)]
    both = evidence.index.intersection(before.index)
    # Each year is shrunk toward its own peer mean (fitted on every unit with data that year).
    current, previous = shrink(evidence, groups, kind), shrink(before, groups, kind)
    return IndicatorModel(indicator, evidence.loc[both], _subset(current, both), _subset(previous, both))


def _subset(posterior: Posterior, index: pd.Index) -> Posterior:
    return Posterior(posterior.kind, *(getattr(posterior, name).loc[index]
                                       for name in ("raw", "first", "second", "mean", "weight_on_own_data")))


# ---------------------------------------------------------------- normalise and aggregate


def peer_z_scores(values: np.ndarray, groups: np.ndarray, reference: np.ndarray, sign: int,
                  clip: float) -> np.ndarray:
    """(value - peer mean) / peer standard deviation, over the reference (ranked) units of each peer
    group, times the direction's sign, clipped to +-clip. values: (units, draws); NaN stays NaN.
    A peer group whose reference units all have the same value scores them 0 (typical)."""
    z = np.full(values.shape, np.nan)
    for group in np.unique(groups):
        rows = groups == group
        peers = values[rows & reference]
        if peers.size == 0 or np.all(np.isnan(peers)):
            continue
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN columns: no peer has data
            mean = np.nanmean(peers, axis=0)
            sd = np.nanstd(peers, axis=0)
            scaled = np.where(sd > 0, (values[rows] - mean) / np.where(sd > 0, sd, 1), 0.0)
        z[rows] = np.where(np.isnan(values[rows]), np.nan, scaled)
    return np.clip(sign * z, -clip, clip)


def weighted_mean(parts: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """Weighted mean over `parts` (each (units, draws)) ignoring NaN parts, weights renormalised.
    weights: (parts, draws). NaN where every part is NaN."""
    stacked = np.stack(parts)                              # (parts, units, draws)
    present = ~np.isnan(stacked)
    w = weights[:, None, :] * present
    total = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, np.nansum(stacked * w, axis=0) / np.where(total > 0, total, 1), np.nan)


def composite(z: dict[str, np.ndarray], config: ScoringConfig, indicator_weights: dict[str, np.ndarray],
              pillar_weights: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Pillar scores and the index (weighted means of z-scores), each (units, draws)."""
    pillars = {}
    for pillar in config.pillars:
        members = config.pillar_indicators(pillar.name)
        parts = [z[i.code] for i in members]
        if config.not_collected == "typical":
            parts = typical_where_missing(parts)
        pillars[pillar.name] = weighted_mean(parts, np.stack([indicator_weights[i.code] for i in members]))
    return pillars, weighted_mean(list(pillars.values()), pillar_weights)


def typical_where_missing(parts: list[np.ndarray]) -> list[np.ndarray]:
    """A unit with data for some of a pillar's indicators counts as typical (z = 0) on the others, at
    their full weight, rather than letting the indicators it has stand in for them. A unit with none
    keeps NaN: the pillar is missing."""
    some = ~np.all(np.isnan(np.stack(parts)), axis=0)
    return [np.where(np.isnan(part) & some, 0.0, part) for part in parts]


def nominal_weights(config: ScoringConfig, draws: int = 1) -> tuple[dict[str, np.ndarray], np.ndarray]:
    indicator_weights = {i.code: np.full(draws, i.weight) for i in config.indicators}
    return indicator_weights, np.array([[p.weight] * draws for p in config.pillars])


def drawn_weights(rng: np.random.Generator, config: ScoringConfig,
                  draws: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Weights drawn from Dirichlet(concentration x normalised nominal weights), per pillar's
    indicators and over the pillars: the sensitivity of the ranks to the choice of weights."""
    def dirichlet(weights: list[float]) -> np.ndarray:
        shares = np.asarray(weights) / sum(weights)
        return rng.dirichlet(config.weight_concentration * shares, size=draws).T   # (parts, draws)

    indicator_weights = {}
    for pillar in config.pillars:
        members = config.pillar_indicators(pillar.name)
        for indicator, row in zip(members, dirichlet([i.weight for i in members])):
            indicator_weights[indicator.code] = row
    return indicator_weights, dirichlet([p.weight for p in config.pillars])


# ---------------------------------------------------------------- ranks


def ranks_desc(scores: np.ndarray) -> np.ndarray:
    """Rank 1 = highest score, per column (draw)."""
    order = np.argsort(-scores, axis=0, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, scores.shape[0] + 1)[:, None], axis=0)
    return ranks


def rank_summary(ranks: np.ndarray, interval: float) -> pd.DataFrame:
    """Median rank and the central `interval` of the ranks over the draws (rows = units)."""
    tail = (1 - interval) / 2
    low, median, high = np.quantile(ranks, [tail, 0.5, 1 - tail], axis=1, method="inverted_cdf")
    return pd.DataFrame({"median_rank": median.astype(int), "rank_low": low.astype(int),
                         "rank_high": high.astype(int)})


# ---------------------------------------------------------------- the whole year


@dataclass(frozen=True)
class YearScores:
    rankings: pd.DataFrame          # one row per unit expected in the year
    indicator_scores: pd.DataFrame  # one row per unit x indicator with evidence
    awards: pd.DataFrame            # one row per unit qualifying for an award (awarded or withheld)
    scenarios: pd.DataFrame         # one row per sensitivity scenario x ranked unit (publishing.sensitivity)


def score_year(months: pd.DataFrame, previous_months: pd.DataFrame, units: pd.DataFrame,
               config: ScoringConfig, seed: int | None = None, draws: int | None = None,
               holds: dict[str, str] | None = None) -> YearScores:
    """Score, rank and award the units of one year. Same inputs and seed, same result. holds: units
    whose year has a serious recording-integrity flag, with the evidence; they are ranked but not
    awarded."""
    holds = holds or {}
    seed = config.seed if seed is None else seed
    draws = config.draws if draws is None else draws
    units = units.set_index("unit_code", drop=False).sort_index()
    groups = peer_groups(units, config)
    models = [model_indicator(i, months, previous_months, groups, config) for i in config.indicators]

    reasons = pd.Series([months_reason(r, e, config) for r, e in
                         zip(units["months_reported"], units["months_expected"])], index=units.index)
    point_values = {m.indicator.code: m.point.reindex(units.index).to_numpy()[:, None] for m in models}
    reference = reasons.isna().to_numpy()
    point_z = _z_scores(point_values, groups.to_numpy(), reference, config)
    pillars, index = composite(point_z, config, *nominal_weights(config))
    missing_pillars = {p.name: np.isnan(pillars[p.name][:, 0]) for p in config.pillars}
    for unit_row, code in enumerate(units.index):
        absent = [p.label for p in config.pillars if missing_pillars[p.name][unit_row]]
        if reasons[code] is None and absent:
            reasons[code] = f"no data for the {', '.join(absent)} pillar" + ("s" if len(absent) > 1 else "")
    ranked = reasons.isna().to_numpy()
    if not np.array_equal(ranked, reference):   # the reference set changed: normalise on it again
        point_z = _z_scores(point_values, groups.to_numpy(), ranked, config)
        pillars, index = composite(point_z, config, *nominal_weights(config))

    rankings = _rankings_frame(units, groups, reasons, pillars, index, config)
    national, provincial = _monte_carlo(models, units, groups, ranked, config, seed, draws)
    rankings = rankings.join(national).join(provincial)
    rank_columns = [*national.columns, *provincial.columns]
    rankings[rank_columns] = rankings[rank_columns].astype("Int64")   # unranked units: <NA>, not a float
    rankings = _award_flags(rankings, config, holds)
    rankings["seed"], rankings["draws"] = seed, draws
    rankings = rankings.reset_index(drop=True).sort_values(["median_rank", "point_rank", "unit_code"],
                                                           na_position="last")
    scores = _indicator_frame(models, units, groups, point_z, config)
    from publishing.sensitivity import scenario_ranks   # it builds on this module's steps

    return YearScores(rankings.reset_index(drop=True), scores, _awards_frame(rankings, config, holds),
                      scenario_ranks(models, units, groups, ranked, config))


def _z_scores(values: dict[str, np.ndarray], groups: np.ndarray, reference: np.ndarray,
              config: ScoringConfig) -> dict[str, np.ndarray]:
    return {i.code: peer_z_scores(values[i.code], groups, reference, i.sign, config.clip)
            for i in config.indicators}


def _to_scale(value: np.ndarray, config: ScoringConfig) -> np.ndarray:
    return config.score_centre + config.score_spread * value


def _rankings_frame(units, groups, reasons, pillars, index, config) -> pd.DataFrame:
    frame = units.copy()
    frame["peer_group"] = groups
    frame["is_ranked"] = reasons.isna()
    frame["not_ranked_reason"] = reasons
    for pillar in config.pillars:
        frame[f"{pillar.name}_score"] = _to_scale(pillars[pillar.name][:, 0], config)
    frame["index_score"] = _to_scale(index[:, 0], config)
    point_rank = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    ranked = frame[frame["is_ranked"]]
    point_rank[ranked.index] = ranks_desc(ranked["index_score"].to_numpy()[:, None])[:, 0]
    frame["point_rank"] = point_rank
    return frame


def _monte_carlo(models: list[IndicatorModel], units: pd.DataFrame, groups: pd.Series, ranked: np.ndarray,
                 config: ScoringConfig, seed: int, draws: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Median rank and interval, nationally and within the province, over `draws` draws of the
    rates (their posteriors) and of the weights."""
    rng = np.random.default_rng(seed)
    ranked_units = units.index[ranked]
    provinces = units.loc[ranked_units, "province_code"].to_numpy()
    national = np.empty((len(ranked_units), draws), dtype=np.int32)
    provincial = np.empty_like(national)
    for start in range(0, draws, BATCH_DRAWS):
        size = min(BATCH_DRAWS, draws - start)
        values = {m.indicator.code: m.draw(rng, size, units.index) for m in models}
        z = _z_scores(values, groups.to_numpy(), ranked, config)
        _, index = composite(z, config, *drawn_weights(rng, config, size))
        scores = index[ranked]
        national[:, start:start + size] = ranks_desc(scores)
        for province in np.unique(provinces):
            rows = provinces == province
            provincial[rows, start:start + size] = ranks_desc(scores[rows])
    summary = rank_summary(national, config.interval).set_index(ranked_units)
    by_province = rank_summary(provincial, config.interval).set_index(ranked_units)
    return summary, by_province.add_prefix("province_")


def award_cut_offs(rankings: pd.DataFrame, config: ScoringConfig) -> pd.DataFrame:
    """Per unit, the worst plausible rank that earns each award in its field: a share of the units
    ranked nationally, or in its province (spec/scoring.yaml, awards)."""
    ranked = rankings["is_ranked"].astype(bool)
    in_province = ranked.groupby(rankings["province_code"]).transform("sum")
    return pd.DataFrame({"national": config.awards["national"].cut_off(int(ranked.sum())),
                         "province": in_province.map(config.awards["province"].cut_off)}, index=rankings.index)


def _qualifies(rankings: pd.DataFrame, config: ScoringConfig) -> pd.DataFrame:
    cut_offs = award_cut_offs(rankings, config)
    return pd.DataFrame({"national": (rankings["rank_high"] <= cut_offs["national"]).fillna(False).astype(bool),
                         "province": (rankings["province_rank_high"] <= cut_offs["province"])
                         .fillna(False).astype(bool)}, index=rankings.index)


def _award_flags(rankings: pd.DataFrame, config: ScoringConfig, holds: dict[str, str]) -> pd.DataFrame:
    """An award for every unit that qualifies, unless a serious integrity flag holds it back."""
    qualifies = _qualifies(rankings, config)
    clean = ~rankings["unit_code"].isin(holds)
    rankings["national_award"] = qualifies["national"] & clean
    rankings["province_award"] = qualifies["province"] & clean
    return rankings


def _awards_frame(rankings: pd.DataFrame, config: ScoringConfig, holds: dict[str, str]) -> pd.DataFrame:
    """One row per unit that qualifies for an award: awarded, or withheld with the integrity evidence."""
    qualifies = _qualifies(rankings, config)
    rows = []
    for scope, prefix, field in (("national", "", "nationally"), ("province", "province_", "in the province")):
        award = config.awards[scope]
        winners = rankings[qualifies[scope]].sort_values([f"{prefix}median_rank", "point_rank"])
        for _, unit in winners.iterrows():
            held = holds.get(unit["unit_code"])
            rows.append({"award_scope": scope, "province_code": unit["province_code"],
                         "unit_code": unit["unit_code"], "award": award.label,
                         "median_rank": int(unit[f"{prefix}median_rank"]),
                         "rank_low": int(unit[f"{prefix}rank_low"]), "rank_high": int(unit[f"{prefix}rank_high"]),
                         "rule": award.rule(field), "status": "withheld" if held else "awarded",
                         "withheld_reason": held})
    return pd.DataFrame(rows, columns=AWARD_FRAME_COLUMNS)


AWARD_FRAME_COLUMNS = ["award_scope", "province_code", "unit_code", "award", "median_rank", "rank_low", "rank_high",
                       "rule", "status", "withheld_reason"]


def _indicator_frame(models, units, groups, point_z, config) -> pd.DataFrame:
    frames = []
    position = {code: row for row, code in enumerate(units.index)}
    for model in models:
        indicator = model.indicator
        evidence = model.evidence
        rows = [position[code] for code in evidence.index]
        frame = pd.DataFrame({
            "unit_code": evidence.index, "indicator_code": indicator.code,
            "indicator_label": indicator.label, "pillar": indicator.pillar,
            "direction": indicator.direction, "months_used": evidence["months_used"].to_numpy(),
            "numerator": evidence["numerator"].to_numpy(), "exposure": evidence["exposure"].to_numpy(),
            "raw_value": model.raw.reindex(evidence.index).to_numpy(),
            "shrunk_value": model.point.reindex(evidence.index).to_numpy(),
            "weight_on_own_data": model.posterior.weight_on_own_data.reindex(evidence.index).to_numpy(),
            "previous_value": (model.previous.mean.reindex(evidence.index).to_numpy()
                               if model.previous is not None else np.nan),
            "z_score": point_z[indicator.code][rows, 0],
        })
        frame["province_code"] = units.loc[evidence.index, "province_code"].to_numpy()
        frame["peer_group"] = groups.loc[evidence.index].to_numpy()
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
