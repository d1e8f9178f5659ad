"""Our own GX expectations: one expectation checks many columns at once.

GX's built-in expectations look at one column (or one pair), and each costs the same few milliseconds
of GX machinery whatever the column holds: the ~100 per-column checks of a return took ~0.35 s, most of
a verdict. These three cover every column of a kind in one pass over the frame:

    expect_multicolumn_values_to_not_be_null      column_list
    expect_multicolumn_values_to_be_between       column_list, min_value, max_values {column: cap}
    expect_column_pairs_left_at_most_right        column_list, pairs [[left, right], ...]

A row fails when any of its cells fails; the rule that contributed the expectation (loaders/rules.py)
finds which cells of the failed rows broke it. Empty cells pass the range and order checks (as in GX's
own column checks): being empty is the not-null check's business.

Importing this module registers them with GX (GX finds an expectation type by its class name).
"""
from __future__ import annotations

from typing import ClassVar, Dict, List, Literal, Sequence, Tuple

import pandas as pd
from great_expectations.compatibility import pydantic
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import MulticolumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import MulticolumnMapMetricProvider
from great_expectations.expectations.metrics.map_metric_provider.multicolumn_condition_partial import (
    multicolumn_condition_partial,
)

_DOMAIN_KEYS = ("batch_id", "table", "column_list", "row_condition", "condition_parser", "ignore_row_if")


class _ManyColumns(MulticolumnMapExpectation):
    """Every row is judged (GX's multicolumn default skips rows whose cells are all empty), and one column
    is enough (a province's local suite may have a single indicator)."""
    column_list: Sequence[str]
    ignore_row_if: Literal["never"] = "never"

    @pydantic.validator("column_list")
    def _validate_column_list(cls, v: Sequence[str]) -> Sequence[str]:
        if not v:
            raise ValueError("column_list must name at least one column")
        return v


# ---------------------------------------------------------------- not null


class MulticolumnValuesNotNull(MulticolumnMapMetricProvider):
    condition_metric_name = "multicolumn_values.not_null"
    condition_domain_keys = _DOMAIN_KEYS

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list: pd.DataFrame, **kwargs) -> pd.Series:
        return column_list.notna().all(axis=1)


class ExpectMulticolumnValuesToNotBeNull(_ManyColumns):
    """Every cell of every listed column holds a value."""
    map_metric = "multicolumn_values.not_null"
    args_keys = ("column_list",)


# ---------------------------------------------------------------- between


class MulticolumnValuesBetween(MulticolumnMapMetricProvider):
    condition_metric_name = "multicolumn_values.between"
    condition_domain_keys = _DOMAIN_KEYS
    condition_value_keys = ("min_value", "max_values")

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list: pd.DataFrame, min_value: float, max_values: dict, **kwargs) -> pd.Series:
        caps = [max_values[name] for name in column_list.columns]
        return (column_list.isna() | ((column_list >= min_value) & (column_list <= caps))).all(axis=1)


class ExpectMulticolumnValuesToBeBetween(_ManyColumns):
    """Every value of each listed column is at least `min_value` and at most its column's `max_values` entry."""
    min_value: float
    max_values: Dict[str, float]
    map_metric = "multicolumn_values.between"
    success_keys: ClassVar[Tuple[str, ...]] = ("mostly", "min_value", "max_values")
    args_keys = ("column_list", "min_value", "max_values")


# ---------------------------------------------------------------- left <= right, for many pairs


class ColumnPairsLeftAtMostRight(MulticolumnMapMetricProvider):
    condition_metric_name = "column_pairs.left_at_most_right"
    condition_domain_keys = _DOMAIN_KEYS
    condition_value_keys = ("pairs",)

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list: pd.DataFrame, pairs: list, **kwargs) -> pd.Series:
        fine = pd.Series(True, index=column_list.index)
        for left, right in pairs:
            a, b = column_list[left], column_list[right]
            fine &= a.isna() | b.isna() | (a <= b)
        return fine


class ExpectColumnPairsLeftAtMostRight(_ManyColumns):
    """For each pair, left <= right on every row that gives both values."""
    pairs: List[Tuple[str, str]]
    map_metric = "column_pairs.left_at_most_right"
    success_keys: ClassVar[Tuple[str, ...]] = ("mostly", "pairs")
    args_keys = ("column_list", "pairs")

