"""The COP performance index pinned on small hand-made data (no database): direction of the
normalisation, shrinkage of small units, exclusion of units with too few months, missing never as
zero, seeds, awards and ties."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from publishing.config import load_scoring
from publishing.scoring import (annual_evidence, beta_binomial_prior, gamma_poisson_prior, peer_z_scores,
                               rank_summary, ranks_desc, score_year, shrink)

CONFIG = load_scoring()
TYPICAL = {field: 10.0 for field in CONFIG.fields}
TYPICAL.update(officers_posted=100.0, officers_trained_cop=20.0, female_officers_posted=4.0,
               community_liaison_officers=3.0, survey_respondents=70.0, survey_satisfied=35.0,
               complaints_received=20.0, complaints_resolved=15.0, complaints_against_police=3.0,
               disputes_referred=10.0, disputes_resolved=7.0, problems_identified=4.0, problems_resolved=2.0)


def unit_months(code: str, months: int = 12, year: int = 2025, population: int = 100_000, **values) -> list[dict]:
    return [{"unit_code": code, "month": pd.Timestamp(year, m, 1), "population": population,
             **TYPICAL, **values} for m in range(1, months + 1)]


def units_frame(rows: list[dict]) -> pd.DataFrame:
    base = {"province_code": "SD", "urban_rural": "urban", "population": 100_000, "months_expected": 12}
    return pd.DataFrame([{**base, **row} for row in rows])


def scenario(n: int = 8, seed_values: int = 1) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """n comparable urban units with different levels of activity, two years each."""
    rng = np.random.default_rng(seed_values)
    this_year, last_year, units = [], [], []
    for i in range(n):
        code = f"SD-KHE-{i:03d}"
        activity = 1 + i / 4
        values = dict(community_meetings_held=round(5 * activity), community_meeting_attendance=round(150 * activity),
                      street_crime_reported=float(rng.integers(20, 40)))
        this_year += unit_months(code, **values)
        last_year += unit_months(code, year=2024, **values)
        units.append({"unit_code": code, "months_reported": 12})
    return pd.DataFrame(this_year), pd.DataFrame(last_year), units_frame(units)


# ---------------------------------------------------------------- pieces


def test_normalisation_turns_lower_is_better_around():
    values = np.array([[1.0], [2.0], [3.0]])
    groups = np.array(["g", "g", "g"])
    everyone = np.ones(3, dtype=bool)
    higher = peer_z_scores(values, groups, everyone, sign=1, clip=3)[:, 0]
    lower = peer_z_scores(values, groups, everyone, sign=-1, clip=3)[:, 0]
    assert higher[2] > higher[1] > higher[0] and higher[1] == pytest.approx(0)
    assert lower[0] > lower[1] > lower[2]
    assert np.allclose(lower, -higher)


def test_normalisation_is_within_the_peer_group_and_keeps_missing_missing():
    values = np.array([[10.0], [20.0], [100.0], [200.0], [np.nan]])
    groups = np.array(["rural", "rural", "urban", "urban", "urban"])
    z = peer_z_scores(values, groups, np.ones(5, dtype=bool), sign=1, clip=3)[:, 0]
    assert z[0] == pytest.approx(z[2]) and z[1] == pytest.approx(z[3])   # same place among their peers
    assert np.isnan(z[4])


def test_direction_comes_from_the_config():
    by_code = {i.code: i for i in CONFIG.indicators}
    assert by_code["police_conduct_complaint_share"].sign == -1
    assert by_code["satisfaction_rate"].sign == 1
    assert all(i.sign == 0 for i in CONFIG.context)


def test_recorded_crime_is_context_never_score():
    """A falling FIR count must not raise a score: no indicator of the index reads a crime field."""
    from cop.spec import load_form

    crime = {f.name for f in load_form().fields if f.group == "crime"}
    assert crime and not crime & {f for i in CONFIG.indicators for f in i.fields}
    assert crime & {f for i in CONFIG.context for f in i.fields}


def test_a_fall_in_recorded_crime_changes_no_score():
    this_year, last_year, units = scenario()
    falling = this_year.assign(street_crime_reported=this_year["street_crime_reported"] * 0.3)
    before = score_year(this_year, last_year, units, CONFIG, draws=20).rankings.set_index("unit_code")
    after = score_year(falling, last_year, units, CONFIG, draws=20).rankings.set_index("unit_code")
    pd.testing.assert_series_equal(before["index_score"], after["index_score"])


def test_shrinkage_pulls_a_tiny_unit_toward_its_peer_mean_and_barely_moves_a_large_one():
    # Nine large units at ~30 per 100,000 a year with real spread between them, one tiny unit at 100.
    rates = [24, 27, 30, 33, 36, 26, 34, 29, 31]
    evidence = pd.DataFrame({"numerator": [r * 10.0 for r in rates] + [2.0],
                             "exposure": [10.0] * 9 + [0.02]},            # person-years / 100,000
                            index=[f"big{i}" for i in range(9)] + ["tiny"])
    groups = pd.Series("urban, large", index=evidence.index)
    posterior = shrink(evidence, groups, "rate")
    peer_mean = evidence["numerator"].sum() / evidence["exposure"].sum()
    assert posterior.raw["tiny"] == pytest.approx(100)
    assert abs(posterior.mean["tiny"] - peer_mean) < 0.2 * abs(100 - peer_mean)
    assert posterior.weight_on_own_data["tiny"] < 0.2
    assert posterior.mean["big0"] == pytest.approx(24, abs=1.5)
    assert posterior.weight_on_own_data["big0"] > 0.7


def test_proportions_are_shrunk_by_a_beta_binomial_prior():
    evidence = pd.DataFrame({"numerator": [40.0, 55.0, 45.0, 60.0, 2.0], "exposure": [100.0] * 4 + [2.0]},
                            index=list("abcde"))
    posterior = shrink(evidence, pd.Series("g", index=evidence.index), "proportion")
    assert posterior.raw["e"] == 1.0
    assert 0.45 < posterior.mean["e"] < 0.6
    a, b = beta_binomial_prior(evidence["numerator"].to_numpy(), evidence["exposure"].to_numpy())
    assert a > 0 and b > 0


def test_a_prior_with_no_real_differences_shrinks_fully():
    counts, exposure = np.array([30.0, 30.0, 30.0]), np.array([1.0, 1.0, 1.0])
    shape, rate = gamma_poisson_prior(counts, exposure)
    assert shape / rate == pytest.approx(30)
    assert rate > 100   # a prior worth far more than one unit's year of data


def test_a_missing_month_is_left_out_not_counted_as_zero():
    indicator = next(i for i in CONFIG.indicators if i.code == "meetings_per_100k")
    full = pd.DataFrame(unit_months("A", community_meetings_held=6))
    gaps = pd.DataFrame(unit_months("B", months=10, community_meetings_held=6))
    unknown = pd.DataFrame(unit_months("C", community_meetings_held=6))
    unknown.loc[unknown.index[:2], "community_meetings_held"] = np.nan    # reported, but the cell was empty
    evidence = annual_evidence(pd.concat([full, gaps, unknown]), indicator)
    rates = evidence["numerator"] / evidence["exposure"]
    assert rates["A"] == pytest.approx(72) and rates["B"] == pytest.approx(72) and rates["C"] == pytest.approx(72)
    assert evidence.loc["B", "months_used"] == 10 and evidence.loc["C", "months_used"] == 10


def test_ranks_and_intervals():
    scores = np.array([[3.0, 1.0], [2.0, 2.0], [1.0, 3.0]])
    assert ranks_desc(scores).tolist() == [[1, 3], [2, 2], [3, 1]]
    summary = rank_summary(np.array([[1, 1, 1, 2, 5]]), 0.9)
    assert summary.iloc[0].tolist() == [1, 1, 5]


# ---------------------------------------------------------------- the whole year


def test_units_with_too_few_months_are_not_ranked_and_say_why():
    this_year, last_year, units = scenario()
    this_year = this_year[~((this_year["unit_code"] == "SD-KHE-007") & (this_year["month"].dt.month > 9))]
    units.loc[units["unit_code"] == "SD-KHE-007", "months_reported"] = 9
    result = score_year(this_year, last_year, units, CONFIG, draws=50)
    row = result.rankings.set_index("unit_code").loc["SD-KHE-007"]
    assert not row["is_ranked"] and pd.isna(row["median_rank"])
    assert "reported 9 of 12 months" in row["not_ranked_reason"] and "at least 10" in row["not_ranked_reason"]
    assert not row["national_award"] and not row["province_award"]
    ranked = result.rankings[result.rankings["is_ranked"]]
    assert sorted(ranked["point_rank"]) == list(range(1, 8))


def test_more_activity_ranks_higher():
    this_year, last_year, units = scenario()
    result = score_year(this_year, last_year, units, CONFIG, draws=50)
    by_unit = result.rankings.set_index("unit_code")
    assert by_unit.loc["SD-KHE-007", "partnership_score"] > by_unit.loc["SD-KHE-000", "partnership_score"]
    assert by_unit.loc["SD-KHE-007", "point_rank"] < by_unit.loc["SD-KHE-000", "point_rank"]


def test_a_field_not_collected_is_missing_not_zero():
    this_year, last_year, units = scenario()
    this_year.loc[this_year["unit_code"] == "SD-KHE-003", ["survey_respondents", "survey_satisfied"]] = np.nan
    result = score_year(this_year, last_year, units, CONFIG, draws=50)
    scores = result.indicator_scores
    assert not ((scores["unit_code"] == "SD-KHE-003") & (scores["indicator_code"] == "satisfaction_rate")).any()
    row = result.rankings.set_index("unit_code").loc["SD-KHE-003"]
    assert row["is_ranked"] and not np.isnan(row["outcomes_score"])
    # Not collected counts as typical (z = 0) at its full weight: the other indicator does not stand in for it.
    conduct = scores[(scores["unit_code"] == "SD-KHE-003") & (scores["indicator_code"] == "police_conduct_complaint_share")]
    weights = {i.code: i.weight for i in CONFIG.pillar_indicators("outcomes")}
    expected = conduct["z_score"].iloc[0] * weights["police_conduct_complaint_share"] / sum(weights.values())
    assert row["outcomes_score"] == pytest.approx(CONFIG.score_centre + CONFIG.score_spread * expected)


def test_a_unit_without_a_whole_pillar_is_not_ranked():
    this_year, last_year, units = scenario()
    gone = this_year["unit_code"] == "SD-KHE-002"
    this_year.loc[gone, ["survey_respondents", "survey_satisfied", "complaints_against_police"]] = np.nan
    last_year = last_year[last_year["unit_code"] != "SD-KHE-002"]             # no trend either
    result = score_year(this_year, last_year, units, CONFIG, draws=50)
    row = result.rankings.set_index("unit_code").loc["SD-KHE-002"]
    assert not row["is_ranked"] and row["not_ranked_reason"] == "no data for the Outcomes pillar"


def test_the_same_seed_gives_the_same_ranks():
    this_year, last_year, units = scenario(n=12)
    first = score_year(this_year, last_year, units, CONFIG, seed=11, draws=200)
    again = score_year(this_year, last_year, units, CONFIG, seed=11, draws=200)
    columns = ["unit_code", "median_rank", "rank_low", "rank_high", "province_median_rank", "national_award"]
    pd.testing.assert_frame_equal(first.rankings[columns], again.rankings[columns])
    assert (first.rankings["seed"] == 11).all()


def test_awards_only_for_units_clearly_at_the_top():
    this_year, last_year, units = scenario(n=60)
    result = score_year(this_year, last_year, units, CONFIG, draws=200)
    cut_off = CONFIG.awards["province"].cut_off(60)
    assert cut_off == 3   # 5% of 60 stations (spec/scoring.yaml)
    awarded = result.rankings[result.rankings["province_award"]]
    assert (awarded["province_rank_high"] <= cut_off).all()
    others = result.rankings[~result.rankings["province_award"] & result.rankings["is_ranked"]]
    assert (others["province_rank_high"] > cut_off).all()
    assert set(result.awards.loc[result.awards["award_scope"] == "province", "unit_code"]) == set(awarded["unit_code"])


@pytest.mark.parametrize("province", ["IC", "GB", "AJ", "BA", "KP", "SD", "PB"])
def test_the_award_cut_off_is_the_same_share_of_every_province(province):
    """From the smallest field (Islamabad, 27 stations) to the largest (Punjab, 703): the interval must lie
    within the same share of the province, never a fixed number of places."""
    import datetime as dt

    from cop.registry import load_registry

    stations = len(load_registry().units_open(province, dt.date(2025, 6, 1)))
    award = CONFIG.awards["province"]
    rankings = pd.DataFrame({"province_code": province, "is_ranked": True, "unit_code": range(stations)})
    cut_off = int(award_cut_offs_of(rankings)["province"].iloc[0])
    assert cut_off == max(1, int(award.top_share * stations))
    assert cut_off / stations <= award.top_share or cut_off == 1
    assert (cut_off + 1) / stations > award.top_share


def award_cut_offs_of(rankings: pd.DataFrame) -> pd.DataFrame:
    from publishing.scoring import award_cut_offs

    return award_cut_offs(rankings, CONFIG)


STAR = dict(community_meetings_held=200, neighbourhood_watch_groups_active=60, liaison_committee_meetings=60,
            open_courts_held=60, youth_and_school_events=60, awareness_campaigns=60, disputes_resolved=10,
            problems_identified=30, problems_resolved=30, complaints_resolved=20, officers_trained_cop=90,
            cop_training_hours=900, female_officers_posted=30, community_liaison_officers=20, survey_satisfied=70,
            complaints_against_police=0)


def test_a_serious_integrity_flag_holds_back_the_award_and_says_why():
    this_year, last_year, units = scenario(n=30)
    winner = "SD-KHE-029"
    star = this_year["unit_code"] == winner
    this_year.loc[star, list(STAR)] = list(STAR.values())
    clean = score_year(this_year, last_year, units, CONFIG, draws=200)
    assert set(clean.awards.loc[clean.awards["award_scope"] == "province", "unit_code"]) == {winner}
    evidence = "fir_collapse (2 months): 2025-03: FIRs 4 against a median of 31 while complaints held at 40"
    held = score_year(this_year, last_year, units, CONFIG, draws=200, holds={winner: evidence})
    row = held.rankings.set_index("unit_code").loc[winner]
    assert row["is_ranked"] and not row["province_award"] and not row["national_award"]
    withheld = held.awards[held.awards["unit_code"] == winner]
    assert set(withheld["status"]) == {"withheld"} and set(withheld["withheld_reason"]) == {evidence}
    others = held.awards[held.awards["unit_code"] != winner]
    assert (others["status"] == "awarded").all()


def test_the_sensitivity_scenarios_rank_every_ranked_unit_and_the_published_one_is_the_score_order():
    this_year, last_year, units = scenario(n=12)
    result = score_year(this_year, last_year, units, CONFIG, draws=20)
    scenarios = result.scenarios
    ranked = result.rankings[result.rankings["is_ranked"]]
    assert scenarios.groupby("scenario").size().eq(len(ranked)).all() and scenarios["scenario"].nunique() >= 7
    published = scenarios[scenarios["scenario"] == "published"].set_index("unit_code")["national_rank"]
    assert (published.reindex(ranked["unit_code"]).to_numpy() == ranked["point_rank"].to_numpy()).all()


def test_identical_units_share_their_rank():
    this_year, last_year, units = scenario(n=4)
    twin = this_year[this_year["unit_code"] == "SD-KHE-003"].assign(unit_code="SD-KHE-009")
    twin_before = last_year[last_year["unit_code"] == "SD-KHE-003"].assign(unit_code="SD-KHE-009")
    units = pd.concat([units, units_frame([{"unit_code": "SD-KHE-009", "months_reported": 12}])])
    result = score_year(pd.concat([this_year, twin]), pd.concat([last_year, twin_before]), units, CONFIG,
                        draws=100)
    by_unit = result.rankings.set_index("unit_code")
    assert by_unit.loc["SD-KHE-003", "index_score"] == pytest.approx(by_unit.loc["SD-KHE-009", "index_score"])
