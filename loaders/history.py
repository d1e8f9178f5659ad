"""Warnings drawn from each unit's own history.

For every unit and indicator: its level over the last N months, from the
latest accepted version of each month, fetched in one query for the whole
province, with each indicator's typical overdispersion; and last month's row, to spot a
copied row. A row of zeros is an explicit no-activity report. An unusual value
(W301) is judged against a negative-binomial band around the unit's level, or
its peers' when its history is short (spec/form.yaml, history_rules).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field as dataclass_field
from typing import Callable

import numpy as np
import pandas as pd
import psycopg
from scipy.stats import nbinom

from cop import db
from cop.security import LOADER_ROLE
from cop.period import add_months, fiscal_year_start, format_period
from cop.spec import Form, HistoryRules, form_for, load_form
from loaders.problems import Problem, problem

MIN_PEERS = 5  # fewer units of a kind in the file: no peer comparison
PLAUSIBLE = 0.01  # a value this likely or more is an ordinary one for the unit

LATEST_ACCEPTED_MONTHS = """
    select distinct on (period) submission_id, period
    from raw.submissions
    where province_code = %(province)s and status = 'accepted'
      and period >= %(first)s and period < %(month)s
    order by period, version desc
"""

# Per unit and indicator: months and level (the mean: bursty series such as youth participants are mostly
# zeros with an occasional large month, which a median would call "usually zero"); per indicator, the
# typical overdispersion of its series (method of moments, upper quartile over the units: attendance or
# training hours are far more dispersed than Poisson). Computed by PostgreSQL (on its own core, while
# Python reads and checks the file); only ~26,000 small rows for Punjab come back. The months' submission
# ids are passed as an array, not joined from a subquery: the planner then reads their rows by index
# instead of scanning all of raw.return_values (seconds, once a warehouse holds years of returns).
STATISTICS_QUERY = """
with sums as (
    select v.unit_code, v.indicator_code, count(*) as months, avg(v.value::float8) as mean,
           var_samp(v.value::float8) as variance, sum(v.value::float8) as s1,
           sum(v.value::float8 * v.value::float8) as s2, max(v.value::float8) as top,
           min(v.value::float8) as bottom
    from raw.return_values v
    where v.submission_id = any(%(submission_ids)s) and v.value is not null
    group by v.unit_code, v.indicator_code
    having count(*) >= greatest(%(min_history)s, 3)
),
series as (
    -- The unit's own overdispersion, without its largest month (one past typing error must not widen
    -- the band for a year).
    select *, greatest(((s2 - top * top) - (s1 - top) ^ 2 / (months - 1)) / (months - 2)
                       - (s1 - top) / (months - 1), 0) / greatest(((s1 - top) / (months - 1)) ^ 2, 1) as own_phi
    from sums
),
dispersion as (
    select indicator_code,
           percentile_cont(0.75) within group (order by greatest((variance - mean) / (mean * mean), 0)) as phi
    from series where mean >= 1 and variance is not null
    group by indicator_code
)
select s.unit_code, s.indicator_code, s.months, s.mean, s.own_phi, s.bottom, s.top, coalesce(d.phi, 0)
from series s left join dispersion d using (indicator_code)
"""

# Per unit, the sums of the fields of the fiscal-year rules (W206) over the earlier months of the fiscal year.
YEAR_TO_DATE_QUERY = """
select v.unit_code, v.indicator_code, sum(v.value::float8)
from raw.return_values v
where v.submission_id = any(%(fiscal_year_ids)s) and v.indicator_code = any(%(fiscal_year_fields)s)
  and v.value is not null
group by v.unit_code, v.indicator_code
"""

# Per unit, its median people per event (attendance per meeting held) over the months with events, for the
# pairs of history_rules.outlier_per_event: a median, so that one mistyped month does not skew a year.
PER_EVENT_QUERY = """
select people.unit_code, percentile_cont(0.5) within group (order by people.value::float8 / events.value::float8),
       count(*)
from raw.return_values people
join raw.return_values events
  on events.submission_id = people.submission_id and events.unit_code = people.unit_code
 and events.indicator_code = %(events)s
where people.submission_id = any(%(submission_ids)s) and people.indicator_code = %(people)s
  and people.value is not null and events.value > 0
group by people.unit_code
having count(*) >= %(min_history)s
"""

LAST_MONTH_QUERY = """
select v.unit_code, v.indicator_code, v.value::float8
from raw.submissions s join raw.return_values v on v.submission_id = s.submission_id
where s.submission_id = (
    select submission_id from raw.submissions
    where province_code = %(province)s and period = %(previous)s and status = 'accepted'
    order by version desc limit 1)
"""


@dataclass
class History:
    """What the warehouse knows of a province's units before `month`."""
    previous_month: dt.date | None = None
    # (unit, indicator) -> (months of history, level, overdispersion of its series without its largest month,
    # its smallest and largest value over those months)
    statistics: dict[tuple[str, str], tuple[int, float, float, float, float]] = dataclass_field(default_factory=dict)
    # indicator -> its series' typical overdispersion (phi of variance = mean + phi * mean^2)
    dispersion: dict[str, float] = dataclass_field(default_factory=dict)
    # unit -> indicator -> value (None = reported as unknown) in the previous month's accepted return
    last_month: dict[str, dict[str, float | None]] = dataclass_field(default_factory=dict)
    # (unit, people field) -> its median people per event (history_rules.outlier_per_event)
    per_event: dict[tuple[str, str], float] = dataclass_field(default_factory=dict)
    # unit -> indicator -> its sum over the earlier months of the fiscal year (fields of the W206-type rules)
    year_to_date: dict[str, dict[str, float]] = dataclass_field(default_factory=dict)


def fetch_history(province: str, month: dt.date, form: Form) -> History:
    """load_history on a connection of its own, so that it can run while the file is read and checked."""
    with db.connect_as(LOADER_ROLE, autocommit=True) as conn:
        return load_history(conn, province, month, form)


def load_history(conn: psycopg.Connection, province: str, month: dt.date, form: Form) -> History:
    rules = form.history_rules
    # The fiscal year starts at most 11 months back, so its months are among the outlier window's.
    first = min(add_months(month, -rules.outlier_history_months), fiscal_year_start(month))
    parameters = {"province": province, "month": month, "first": first,
                  "min_history": rules.outlier_min_history, "previous": add_months(month, -1),
                  "fiscal_year_fields": sorted({name for rule in form.fiscal_year_rules
                                                for name in (rule.left, rule.right)})}
    history = History(previous_month=parameters["previous"])
    months = conn.execute(LATEST_ACCEPTED_MONTHS, parameters).fetchall()
    window_start = add_months(month, -rules.outlier_history_months)
    parameters["submission_ids"] = [submission for submission, period in months if period >= window_start]
    parameters["fiscal_year_ids"] = [submission for submission, period in months
                                     if period >= fiscal_year_start(month)]
    for unit, indicator, months_known, level, own_phi, bottom, top, phi in conn.execute(STATISTICS_QUERY, parameters):
        history.statistics[(unit, indicator)] = (months_known, level, own_phi, bottom, top)
        history.dispersion[indicator] = phi
    for people, events in rules.outlier_per_event:
        for unit, ratio, _ in conn.execute(PER_EVENT_QUERY, parameters | {"people": people, "events": events}):
            history.per_event[(unit, people)] = ratio
    for unit, indicator, value in conn.execute(LAST_MONTH_QUERY, parameters):
        history.last_month.setdefault(unit, {})[indicator] = value
    if parameters["fiscal_year_fields"]:
        for unit, indicator, total in conn.execute(YEAR_TO_DATE_QUERY, parameters):
            history.year_to_date.setdefault(unit, {})[indicator] = total
    return history


def _typical(values: np.ndarray) -> tuple[float, float]:
    """The 10%-trimmed mean of the known values, and their trimmed spread relative to it (inf if unknown)."""
    known = np.sort(values[~np.isnan(values)])
    cut = max(1, len(known) // 10)
    kept = known[cut: len(known) - cut]
    if len(kept) < MIN_PEERS or kept.mean() <= 0:
        return (float(kept.mean()) if len(kept) else np.nan), np.inf
    return float(kept.mean()), float(kept.std() / kept.mean())


def _group_dispersion(values: np.ndarray, expected: np.ndarray | float) -> float:
    """How much units of a group differ beyond Poisson: phi of variance = mean + phi * mean^2, from the
    ratios of their values to what each was expected to report (top and bottom tenth left out)."""
    expected = np.broadcast_to(expected, values.shape)
    known = ~np.isnan(values) & (expected > 0)
    if known.sum() < MIN_PEERS:
        return 0.0
    ratios, expected = values[known] / expected[known], expected[known]
    order = np.argsort(ratios)
    cut = max(1, len(order) // 10)
    kept = order[cut: len(order) - cut]
    return float(max(ratios[kept].var() - (1 / expected[kept]).mean(), 0))


@dataclass(frozen=True)
class Peer:
    """What the registry says of a unit, to compare it with units like it when its history is short."""
    population: int
    kind: str          # urban | rural
    district: str


def fields_new_since(month: dt.date) -> set[str]:
    """The national fields that the form in force for `month` did not collect (a later version added them)."""
    then = form_for(month).field_names
    return {name for name in load_form().field_names if name not in then}


def history_warnings(frame: pd.DataFrame, value_fields: list[str], history: History, rules: HistoryRules,
                     describe_cell: Callable[[int, str], dict], peers: dict[str, Peer] | None = None,
                     counts: set[str] | None = None) -> list[Problem]:
    """W302 and W303 on every value field; W301 on the `counts` among them (all of them when not given)."""
    if "unit_code" not in frame or not value_fields:
        return []
    problems: list[Problem] = []
    checked_rows = []
    # A v1 row copied into a v2 month is still a copy: the fields v2 added are left out of the comparison.
    new_fields = fields_new_since(history.previous_month) if history.previous_month else set()
    records = frame[["unit_code", *value_fields]].to_dict("index")
    for row, record in records.items():
        unit = record.pop("unit_code")
        if unit is None:
            continue
        values = {name: (None if math.isnan(value) else value) for name, value in record.items()}
        given = [value for value in values.values() if value is not None]
        if given and all(value == 0 for value in given):
            problems.append(problem("W303", f"Every figure for unit {unit} is zero", **describe_cell(row, "unit_code")))
            continue
        previous = history.last_month.get(unit, {})
        compared = {name: value for name, value in values.items() if name not in new_fields}
        if given and compared == {name: previous.get(name, math.inf) for name in compared}:
            problems.append(problem("W302", f"Every figure for unit {unit} equals its "
                                            f"{format_period(history.previous_month)} return",
                                    **describe_cell(row, "unit_code")))
        checked_rows.append(row)
    banded = frame.loc[checked_rows, ["unit_code", *value_fields]]
    if counts is not None:
        # Amounts (rupees) and medians of days are not counts: no band. Blanked, not dropped, so that the
        # counts either side of one are not taken for neighbouring columns.
        banded = banded.assign(**{name: np.nan for name in value_fields if name not in counts})
    band = OutlierBand(banded, history, rules, peers or {})
    return problems + band.problems(describe_cell)


class OutlierBand:
    """W301 (rule version 4): each count against a negative-binomial band around the unit's level, a typing
    slip (an extra 0) that explains a merely improbable value, and two neighbouring figures typed in each
    other's columns (see spec/form.yaml, history_rules). Vectorised: a Punjab file has ~24,000 values."""

    def __init__(self, frame: pd.DataFrame, history: History, rules: HistoryRules, peers: dict[str, Peer]):
        self.rows, self.fields, self.rules = list(frame.index), list(frame.columns[1:]), rules
        self.units = frame["unit_code"].tolist()
        self.values = frame[self.fields].to_numpy(dtype=float)
        own_months, own_level, own_phi, bottom, top = self._own_history(history)
        self.own_months = own_months
        has_own = own_months >= rules.outlier_min_history
        with np.errstate(invalid="ignore"):
            # Beyond anything the unit reported over its history (or no history of its own to compare with).
            self.beyond_own_range = ~(has_own & (self.values >= bottom) & (self.values <= top))
        peer_level, peer_dispersion = self._peer_level(peers)
        level = np.where(has_own, own_level, peer_level)
        self.level = np.maximum(level, rules.outlier_level_floor)
        learned = np.array([history.dispersion.get(name, 0.0) for name in self.fields])
        dispersion = np.maximum(np.where(has_own, np.maximum(rules.outlier_overdispersion, own_phi),
                                         np.maximum(rules.outlier_peer_overdispersion, peer_dispersion)),
                                learned[None, :])
        self.has_own = has_own
        self._set_band(self.level, dispersion)
        self.events_column = np.full(self.values.shape, -1)  # where judged against the month's events: their column
        self._judge_people_by_events(history)

    def _set_band(self, level: np.ndarray, dispersion: np.ndarray | float,
                  where: np.ndarray | slice = slice(None)) -> None:
        """Negative binomial with mean `level` and variance level + dispersion * level^2:
        n = mean^2 / (variance - mean), p = mean / variance."""
        variance = level + dispersion * level ** 2
        if isinstance(where, slice):
            self.n, self.p = level ** 2 / (variance - level), level / variance
        else:
            self.n[where], self.p[where] = (level ** 2 / (variance - level))[where], (level / variance)[where]

    def _judge_people_by_events(self, history: History) -> None:
        """People over the month's events (history_rules.outlier_per_event): attendance is judged against the
        meetings held this month, times the unit's median people per meeting (the province's in this file when
        the unit has no history), when the number of meetings is itself ordinary for the unit."""
        tail = self.tail_probability()
        for people, events in self.rules.outlier_per_event:
            if people not in self.fields or events not in self.fields:
                continue
            j, k = self.fields.index(people), self.fields.index(events)
            both = ~np.isnan(self.values[:, j]) & ~np.isnan(self.values[:, k])
            in_file = self.values[both, j].sum() / max(self.values[both, k].sum(), 1)
            per_event = np.array([history.per_event.get((unit, people), in_file) for unit in self.units])
            with np.errstate(invalid="ignore"):
                judged = both & (tail[:, k] >= PLAUSIBLE)
            level = np.maximum(self.values[:, k] * per_event, self.rules.outlier_level_floor)
            column_level = self.level[:, j].copy()
            column_level[judged] = level[judged]
            self.level[:, j] = column_level
            mask = np.zeros(self.values.shape, dtype=bool)
            mask[:, j] = judged
            self._set_band(self.level, self.rules.outlier_per_event_overdispersion, mask)
            self.events_column[judged, j] = k

    def _own_history(self, history: History) -> tuple[np.ndarray, ...]:
        """Per cell: months of history, level, own overdispersion, smallest and largest past value."""
        shape = self.values.shape
        months, level, phi, bottom, top = (np.zeros(shape), np.full(shape, np.nan), np.zeros(shape),
                                           np.full(shape, np.nan), np.full(shape, np.nan))
        for i, unit in enumerate(self.units):
            for j, name in enumerate(self.fields):
                stats = history.statistics.get((unit, name))
                if stats is not None:
                    months[i, j], level[i, j], phi[i, j], bottom[i, j], top[i, j] = stats
        return months, level, phi, bottom, top

    def _peer_level(self, peers: dict[str, Peer]) -> np.ndarray:
        """Per indicator, among the file's units of the same kind (urban or rural) in the same district, or in
        the province when the district has too few: their typical value, or their typical rate per inhabitant
        times the unit's population, whichever varies less among them (officers grow with population,
        survey sizes do not). Typical = the mean without the top and bottom tenth."""
        known = [peers.get(u) for u in self.units]
        population = np.array([p.population if p else np.nan for p in known], dtype=float)
        level, dispersion = np.full(self.values.shape, np.nan), np.zeros(self.values.shape)
        for targets, reference in self._peer_groups(known):
            for j in range(len(self.fields)):
                values = self.values[reference, j]
                flat, flat_spread = _typical(values)
                rate, rate_spread = _typical(values / population[reference])
                level[targets, j] = flat if flat_spread <= rate_spread else rate * population[targets]
                dispersion[targets, j] = _group_dispersion(values, flat if flat_spread <= rate_spread else
                                                           rate * population[reference])
        return level, dispersion

    @staticmethod
    def _peer_groups(known: list[Peer | None]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(units judged, the units they are judged against)."""
        by_district: dict[tuple[str, str], list[int]] = {}
        by_kind: dict[str, list[int]] = {}
        for index, peer in enumerate(known):
            if peer:
                by_district.setdefault((peer.kind, peer.district), []).append(index)
                by_kind.setdefault(peer.kind, []).append(index)
        groups = []
        for (kind, _), indexes in by_district.items():
            if len(indexes) >= MIN_PEERS:
                groups.append((np.array(indexes), np.array(indexes)))
            elif len(by_kind[kind]) >= MIN_PEERS:  # a small district: the province's units of its kind
                groups.append((np.array(indexes), np.array(by_kind[kind])))
        return groups

    def tail_probability(self) -> np.ndarray:
        """P(a value at least this far from the level, on its side); NaN where there is nothing to judge."""
        return self._tail(self.values, self.n, self.p, self.level)

    @staticmethod
    def _tail(values, n, p, level):
        with np.errstate(invalid="ignore"):
            above = nbinom.sf(np.ceil(values) - 1, n, p)
            below = nbinom.cdf(np.floor(values), n, p)
        return np.where(values > level, above, below)

    def problems(self, describe_cell: Callable[[int, str], dict]) -> list[Problem]:
        if not self.rows:
            return []
        tail = self.tail_probability()
        with np.errstate(invalid="ignore"):
            far = np.abs(self.values - self.level) >= self.rules.outlier_min_abs_change
            unusual = far & (tail < self.rules.outlier_tail_probability)
            suspect = far & ~unusual & self.beyond_own_range & (tail < self.rules.outlier_slip_tail_probability)
        found: dict[tuple[int, int], str | None] = {(i, j): self._slip(i, j) for i, j in zip(*np.nonzero(unusual))}
        for i, j in zip(*np.nonzero(suspect)):
            meant = self._slip(i, j)
            if meant is not None:
                found[(i, j)] = meant
        for i, j in self._swaps(tail):
            found[(i, j)] = self._swap_note(i, j, j + 1, describe_cell)
            found[(i, j + 1)] = self._swap_note(i, j + 1, j, describe_cell)
        return [self._problem(i, j, float(tail[i, j]), meant, describe_cell) for (i, j), meant in sorted(found.items())]

    def _swaps(self, tail: np.ndarray) -> list[tuple[int, int]]:
        """Neighbouring figures typed in each other's columns (row i, columns j and j + 1): one above its level
        and the other below its own, both beyond anything the unit reported before, jointly improbable (the
        product of their tails under outlier_swap_tail_probability: two moderately odd cells together are as
        telling as one very odd one), and both ordinary once put back."""
        left, right = self.values[:, :-1], self.values[:, 1:]
        n_left, p_left, level_left = self.n[:, :-1], self.p[:, :-1], self.level[:, :-1]
        n_right, p_right, level_right = self.n[:, 1:], self.p[:, 1:], self.level[:, 1:]
        with np.errstate(invalid="ignore"):
            opposite = (left - level_left) * (right - level_right) < 0
            swapped = (opposite & self.beyond_own_range[:, :-1] & self.beyond_own_range[:, 1:]
                       & (np.abs(left - right) >= self.rules.outlier_min_abs_change)
                       & (tail[:, :-1] * tail[:, 1:] < self.rules.outlier_swap_tail_probability)
                       & (self._tail(right, n_left, p_left, level_left) >= PLAUSIBLE)
                       & (self._tail(left, n_right, p_right, level_right) >= PLAUSIBLE))
        return list(zip(*np.nonzero(swapped)))

    def _swap_note(self, i: int, j: int, other: int, describe_cell: Callable[[int, str], dict]) -> str:
        column = describe_cell(self.rows[i], self.fields[other])["column"]
        return (f"its neighbour '{column}' is {self.values[i, other]:,.0f} where about {self.level[i, other]:,.0f} "
                f"is usual: were the two figures typed in each other's columns?")

    def _slip(self, i: int, j: int) -> str | None:
        """A typing slip that explains a merely improbable value (beyond anything the unit reported before):
        an extra zero, without which the value is plausible for the unit. It is the commonest entry error, so
        a value it explains is flagged at the looser outlier_slip_tail_probability (and a far value it explains
        gets the note too). Swapped digits were tried as well: a count near its band has a plausible
        transposition too often to be worth the false alarms (bench/anomalies.md, README)."""
        value = self.values[i, j]
        if value != int(value) or value < 10:
            return None
        if int(value) % 10:
            return None
        meant = int(value) // 10
        if self._tail(np.float64(meant), self.n[i, j], self.p[i, j], self.level[i, j]) >= PLAUSIBLE:
            return f"was {meant:,} meant (an extra 0 typed)?"
        return None

    def _problem(self, i: int, j: int, tail: float, slip: str | None,
                 describe_cell: Callable[[int, str], dict]) -> Problem:
        cell = describe_cell(self.rows[i], self.fields[j])
        alpha = self.rules.outlier_tail_probability
        low, high = nbinom.ppf(alpha, self.n[i, j], self.p[i, j]), nbinom.isf(alpha, self.n[i, j], self.p[i, j])
        level = self.level[i, j]
        if self.events_column[i, j] >= 0:
            events = describe_cell(self.rows[i], self.fields[self.events_column[i, j]])
            source = f"with {events['value']} in '{events['column']}' this month, about {level:,.0f} is usual"
        elif self.has_own[i, j]:
            source = f"over its last {self.own_months[i, j]:.0f} months it usually reported about {level:,.0f}"
        else:
            source = f"units like it in this file (same kind, scaled to its population) suggest about {level:,.0f}"
        judgement = slip or f"so a value from {low:,.0f} to {high:,.0f} was expected"
        return problem("W301", f"'{cell['column']}' is {cell['value']} for unit {self.units[i]}; {source}; "
                               f"{judgement}", score=round(-math.log10(max(tail, 1e-300)), 1), **cell)
