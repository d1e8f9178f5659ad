"""Runs the committed suites on a submission's DataFrame with an ephemeral GX context.

The context, the batch definition and the suites are built once per process, and
GX keeps the batch's DataFrame on them: two validations at once in one process
would see each other's rows. So one validation runs at a time per process
(_ONE_AT_A_TIME); the front doors get their parallelism from processes instead
(loaders.sandbox runs every verdict in a child of its own).
A validation runs in two passes: every expectation with result format
BOOLEAN_ONLY (cheap), then only the failed ones with COMPLETE to learn which
rows failed. Most files pass most expectations, so the second pass is small.
"""
from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass

import pandas as pd

from expectations.suites import (NATIONAL_SUITE, PERIOD_PARAMETER, PROVINCE_PARAMETER, committed_suite,
                                 local_suite_name, rule_codes)

# GX sends usage analytics unless told not to; a warehouse of police data must not phone home.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

COLUMN_KWARGS = ("column", "column_A", "column_B")
MANY_COLUMNS = "column_list"  # expectations.multicolumn: one expectation, many columns
_ONE_AT_A_TIME = threading.Lock()


@dataclass(frozen=True)
class Outcome:
    """One expectation's result on one submission."""
    kind: str
    kwargs: dict
    meta: dict
    severity: str
    success: bool
    failed_rows: tuple = ()  # DataFrame index labels (the rows as numbered in the province's file)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.kwargs.get(MANY_COLUMNS, ())) + tuple(self.kwargs[key] for key in COLUMN_KWARGS
                                                                if key in self.kwargs)

    @property
    def rules(self) -> list[str]:
        return rule_codes(self.meta)


class ExpectationRunError(RuntimeError):
    """GX could not evaluate an expectation (a bug or a broken suite, not a problem in the file)."""


class SuiteMissing(RuntimeError):
    """The committed suite JSON is missing: run `cop spec generate`."""


@functools.cache
def _batch_definition():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("submissions").add_dataframe_asset("return")
    return asset.add_batch_definition_whole_dataframe("whole_return")


@functools.cache
def _expectation_configs(province: str) -> tuple[dict, ...]:
    national = committed_suite(NATIONAL_SUITE)
    if national is None:
        raise SuiteMissing(f"expectations/suites/{NATIONAL_SUITE}.json is missing; run `cop spec generate`")
    local = committed_suite(local_suite_name(province)) or {"expectations": []}
    return tuple(national["expectations"] + local["expectations"])


@functools.lru_cache(maxsize=64)
def _suite(province: str, columns: frozenset[str]):
    """The suite for this province, limited to the columns the file has."""
    limited = (_for_columns(config, columns) for config in _expectation_configs(province))
    return gx_suite(f"cop_return_{province}", [config for config in limited if config])


def gx_suite(name: str, configs: list[dict]):
    """GX's suite object from expectations in their JSON form (ours included: expectations.multicolumn)."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    import expectations.multicolumn  # noqa: F401 - registers our expectation types with GX

    return gx.ExpectationSuite(name=name, expectations=[ExpectationConfiguration(**_for_gx(c)).to_domain_obj()
                                                        for c in configs])


def _for_gx(config: dict) -> dict:
    """GX's engine wants two names in a many-column domain: one column is given twice (the checks are the
    same on a copy; the outcome lists it once)."""
    columns = config["kwargs"].get(MANY_COLUMNS)
    if columns is None or len(columns) > 1:
        return config
    return {**config, "kwargs": config["kwargs"] | {MANY_COLUMNS: list(columns) * 2}}


def _for_columns(config: dict, columns: frozenset[str]) -> dict | None:
    """The expectation on the columns the file has: a one-column (or one-pair) expectation whole or not at
    all; a many-column one narrowed to the columns present (None when none are)."""
    kwargs = config["kwargs"]
    if MANY_COLUMNS not in kwargs:
        return config if all(kwargs[key] in columns for key in COLUMN_KWARGS if key in kwargs) else None
    narrowed = dict(kwargs)
    if "pairs" in kwargs:
        narrowed["pairs"] = [pair for pair in kwargs["pairs"] if set(pair) <= columns]
        kept = list(dict.fromkeys(name for pair in narrowed["pairs"] for name in pair))
    else:
        kept = [name for name in kwargs[MANY_COLUMNS] if name in columns]
    if "max_values" in kwargs:
        narrowed["max_values"] = {name: kwargs["max_values"][name] for name in kept}
    return {**config, "kwargs": narrowed | {MANY_COLUMNS: kept}} if kept else None


def warm_up(provinces: list[str] | None = None) -> None:
    """Import GX, build the context and each province's suite for the columns of its template (what a
    return usually has), and validate once (GX's first validation pays for imports of its own), so that a
    submission pays only for its own validation. One validation is enough: each costs the same after it."""
    from cop.registry import load_registry
    from cop.spec import load_amendment, load_form

    for number, province in enumerate(provinces or load_registry().province_codes):
        columns = [column.field for column in load_amendment(province).columns(load_form())]
        if number == 0:
            frame = pd.DataFrame({name: pd.Series([], dtype="float64") for name in columns})
            run_expectations(frame, province, {PROVINCE_PARAMETER: [province], PERIOD_PARAMETER: []})
        else:
            _suite(province, frozenset(columns))


def run_expectations(frame: pd.DataFrame, province: str, parameters: dict) -> list[Outcome]:
    with _ONE_AT_A_TIME:
        return _run_expectations(frame, province, parameters)


def _run_expectations(frame: pd.DataFrame, province: str, parameters: dict) -> list[Outcome]:
    import great_expectations as gx

    suite = _suite(province, frozenset(frame.columns))
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
    quick = batch.validate(suite, result_format="BOOLEAN_ONLY", expectation_parameters=parameters)
    _raise_on_errors(quick.results)
    failed = [result.expectation_config for result in quick.results if not result.success]
    details = {}
    if failed:
        retry = gx.ExpectationSuite(name=f"{suite.name}_failed",
                                    expectations=[config.to_domain_obj() for config in failed])
        complete = batch.validate(retry, result_format={"result_format": "COMPLETE"},
                                  expectation_parameters=parameters)
        details = {_key(r.expectation_config): r for r in complete.results}
    outcomes = []
    for result in quick.results:
        config = result.expectation_config
        detail = details.get(_key(config))
        failed_rows = tuple(detail.result.get("unexpected_index_list") or ()) if detail else ()
        outcomes.append(Outcome(kind=config.type, kwargs=_as_in_suite(config.kwargs), meta=dict(config.meta or {}),
                                severity=str(getattr(config.severity, "value", config.severity)),
                                success=bool(result.success), failed_rows=failed_rows))
    return outcomes


def _as_in_suite(kwargs) -> dict:
    kwargs = dict(kwargs)
    if MANY_COLUMNS in kwargs:
        kwargs[MANY_COLUMNS] = list(dict.fromkeys(kwargs[MANY_COLUMNS]))
    return kwargs


def _raise_on_errors(results) -> None:
    """An expectation that could not run is a fault of ours, never a verdict on the province's data."""
    for result in results:
        info = result.exception_info or {}
        infos = info.values() if "raised_exception" not in info else [info]
        for item in infos:
            if isinstance(item, dict) and item.get("raised_exception"):
                raise ExpectationRunError(f"{result.expectation_config.type} {dict(result.expectation_config.kwargs)}: "
                                          f"{item.get('exception_message')}")


def _key(config) -> tuple:
    return config.type, tuple(sorted((k, repr(v)) for k, v in config.kwargs.items()))
