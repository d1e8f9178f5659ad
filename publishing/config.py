"""The scoring configuration (spec/scoring.yaml) as typed, checked data.

Every field an indicator uses must be a national field of the form (spec/form.yaml): the index can
only be computed from what provinces report, and a typo fails loudly here rather than as an empty
column in the rankings.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from cop.paths import SPEC_DIR
from cop.spec import SpecError, load_form

SCORING_PATH = SPEC_DIR / "scoring.yaml"
KINDS = {"rate", "proportion", "trend"}
EXPOSURES = {"population", "officers", "unit_month"}
DIRECTIONS = {"higher", "lower"}
CONTEXT = "context"                 # the pillar of indicators published beside the index, never scored
NOT_COLLECTED = {"typical", "renormalise"}
INDICATOR_KEYS = {"code", "pillar", "label", "kind", "direction", "weight", "numerator", "denominator", "per",
                  "stock", "level_label"}


@dataclass(frozen=True)
class Pillar:
    name: str
    label: str
    weight: float


@dataclass(frozen=True)
class Indicator:
    code: str
    pillar: str
    label: str
    kind: str                       # rate | proportion | trend
    direction: str                  # higher | lower (is better)
    weight: float
    numerator: tuple[str, ...]      # national fields summed into the numerator
    denominator: str | None = None  # proportion only
    per: str | None = None          # rate and trend: population | officers | unit_month
    stock: bool = False             # head counts: monthly averages instead of sums
    level_label: str | None = None  # trend: what the level is called (e.g. street crime per 100,000)

    @property
    def sign(self) -> int:
        return {"higher": 1, "lower": -1}.get(self.direction, 0)

    @property
    def is_share(self) -> bool:
        """A proportion: its changes are percentage points, not relative percentages."""
        return self.kind == "proportion"

    def level(self) -> "Indicator":
        """The level a trend follows (a rate, e.g. street crime per 100,000 a year); itself otherwise."""
        if self.kind != "trend":
            return self
        return replace(self, code=self.code.removesuffix("_trend") + "_level", kind="rate",
                       label=self.level_label, level_label=None)

    @property
    def fields(self) -> tuple[str, ...]:
        extra = (self.denominator,) if self.denominator else ("officers_posted",) if self.per == "officers" else ()
        return self.numerator + extra


@dataclass(frozen=True)
class SizeBand:
    name: str
    below: int | None


@dataclass(frozen=True)
class Award:
    scope: str
    label: str
    top_share: float                # the interval must lie within this share of the field's ranked units

    def cut_off(self, units_ranked: int) -> int:
        """The worst plausible rank that still earns the award in a field of `units_ranked` units."""
        return max(1, math.floor(self.top_share * units_ranked))

    def rule(self, field: str) -> str:
        return (f"90% rank interval within the top {self.top_share:.0%} of the stations ranked {field} "
                f"(at least the top 1)")


@dataclass(frozen=True)
class ScoringConfig:
    version: int
    min_months_reported: int
    min_months_previous_year: int
    size_bands: tuple[SizeBand, ...]
    pillars: tuple[Pillar, ...]
    indicators: tuple[Indicator, ...]
    context: tuple[Indicator, ...]   # published beside the index, not scored (recorded crime)
    not_collected: str               # typical (z = 0 at full weight) | renormalise (the pillar's others stand in)
    clip: float
    score_centre: float
    score_spread: float
    draws: int
    seed: int
    weight_concentration: float
    interval: float
    awards: dict[str, Award]
    trend_charts: tuple[str, ...]    # indicator codes the report charts month by month
    funnel: str                      # the indicator of the funnel plot (a rate per population)
    sha256: str
    text: str

    def pillar_indicators(self, pillar: str) -> list[Indicator]:
        return [i for i in self.indicators if i.pillar == pillar]

    @property
    def fields(self) -> list[str]:
        """Every national field the index and its context read, in first-use order."""
        return list(dict.fromkeys(f for i in (*self.indicators, *self.context) for f in i.fields))

    def indicator(self, code: str) -> Indicator:
        return next(i for i in (*self.indicators, *self.context) if i.code == code)


def _as_tuple(value) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, list) else (value,)


def _indicator(raw: dict, pillars: set[str], form_fields: set[str]) -> Indicator:
    where = f"indicator {raw.get('code', '?')}"
    indicator = Indicator(code=raw["code"], pillar=raw["pillar"], label=raw["label"], kind=raw["kind"],
                          direction=raw["direction"], weight=float(raw["weight"]),
                          numerator=_as_tuple(raw["numerator"]), denominator=raw.get("denominator"),
                          per=raw.get("per"), stock=bool(raw.get("stock", False)),
                          level_label=raw.get("level_label"))
    problems = [f"unknown key '{key}' (a label with a comma must be quoted)" for key in raw if key not in INDICATOR_KEYS]
    if indicator.pillar not in pillars:
        problems.append(f"unknown pillar '{indicator.pillar}'")
    if indicator.kind not in KINDS:
        problems.append(f"kind must be one of {sorted(KINDS)}")
    if indicator.pillar == CONTEXT and indicator.direction != "neutral":
        problems.append("a context indicator is not scored: its direction must be neutral")
    if indicator.pillar != CONTEXT and indicator.direction not in DIRECTIONS:
        problems.append("direction must be higher or lower")
    if indicator.kind == "proportion" and not indicator.denominator:
        problems.append("a proportion needs a denominator")
    if indicator.kind == "trend" and not indicator.level_label:
        problems.append("a trend needs a level_label")
    if indicator.kind in ("rate", "trend") and indicator.per not in EXPOSURES:
        problems.append(f"per must be one of {sorted(EXPOSURES)}")
    if indicator.weight <= 0:
        problems.append("weight must be positive")
    unknown = [f for f in indicator.fields if f not in form_fields]
    if unknown:
        problems.append(f"not national fields of the form: {', '.join(unknown)}")
    if problems:
        raise SpecError(f"{SCORING_PATH.name}, {where}: " + "; ".join(problems))
    return indicator


def _award(scope: str, raw: dict) -> Award:
    share = float(raw["top_share"])
    if not 0 < share < 1:
        raise SpecError(f"{SCORING_PATH.name}, award {scope}: top_share must be between 0 and 1")
    return Award(scope, raw["label"], share)


def parse_scoring(text: str) -> ScoringConfig:
    raw = yaml.safe_load(text)
    form_fields = set(load_form().field_names)
    pillars = tuple(Pillar(p["name"], p["label"], float(p["weight"])) for p in raw["pillars"])
    indicators = tuple(_indicator(i, {p.name for p in pillars}, form_fields) for i in raw["indicators"])
    context = tuple(_indicator(i, {CONTEXT}, form_fields) for i in raw.get("context", []))
    empty = [p.name for p in pillars if not any(i.pillar == p.name for i in indicators)]
    if empty:
        raise SpecError(f"{SCORING_PATH.name}: pillars without indicators: {', '.join(empty)}")
    if len({i.code for i in (*indicators, *context)}) != len(indicators) + len(context):
        raise SpecError(f"{SCORING_PATH.name}: indicator codes must be unique")
    known = {i.code for i in (*indicators, *context)}
    charted = [*raw["report"]["trend_charts"], raw["report"]["funnel"]]
    if unknown := [code for code in charted if code not in known]:
        raise SpecError(f"{SCORING_PATH.name}, report: unknown indicators {', '.join(unknown)}")
    bands = tuple(SizeBand(b["name"], b.get("below")) for b in raw["peer_groups"]["size_bands"])
    if bands[-1].below is not None:
        raise SpecError(f"{SCORING_PATH.name}: the last size band must have no upper bound")
    uncertainty, normalisation = raw["uncertainty"], raw["normalisation"]
    not_collected = normalisation.get("not_collected", "renormalise")
    if not_collected not in NOT_COLLECTED:
        raise SpecError(f"{SCORING_PATH.name}: normalisation.not_collected must be one of {sorted(NOT_COLLECTED)}")
    return ScoringConfig(
        version=int(raw["version"]),
        min_months_reported=int(raw["eligibility"]["min_months_reported"]),
        min_months_previous_year=int(raw["eligibility"]["min_months_previous_year"]),
        size_bands=bands, pillars=pillars, indicators=indicators, context=context, not_collected=not_collected,
        clip=float(normalisation["clip"]),
        score_centre=float(normalisation["score_scale"]["centre"]),
        score_spread=float(normalisation["score_scale"]["spread"]),
        draws=int(uncertainty["draws"]), seed=int(uncertainty["seed"]),
        weight_concentration=float(uncertainty["weight_concentration"]),
        interval=float(uncertainty["interval"]),
        awards={scope: _award(scope, a) for scope, a in raw["awards"].items()},
        trend_charts=tuple(raw["report"]["trend_charts"]), funnel=raw["report"]["funnel"],
        sha256=hashlib.sha256(text.encode()).hexdigest(), text=text)


def load_scoring(path: Path = SCORING_PATH) -> ScoringConfig:
    return parse_scoring(path.read_text(encoding="utf-8"))
