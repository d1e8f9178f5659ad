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
                                 local_suite_name)

# GX sends usage analytics unless told not to; a warehouse of police data must not phone home.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

COLUMN_KWARGS = ("column", "column_A", "column_B")
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
        return tuple(self.kwargs[key] for key in COLUMN_KWARGS if key in self.kwargs)


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
    """The suite for this province, limited to the expectations whose columns the file has."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    expectations = [ExpectationConfiguration(**config).to_domain_obj()
                    for config in _expectation_configs(province)
                    if all(config["kwargs"][key] in columns for key in COLUMN_KWARGS if key in config["kwargs"])]
    return gx.ExpectationSuite(name=f"cop_return_{province}", expectations=expectations)


def warm_up(provinces: list[str] | None = None) -> None:
    """Import GX, build the context and each province's suite for the columns of its template (what a
    return usually has), so that a submission pays nothing extra."""
    from cop.registry import load_registry
    from cop.spec import load_amendment, load_form

    for province in provinces or load_registry().province_codes:
        columns = [column.field for column in load_amendment(province).columns(load_form())]
        frame = pd.DataFrame({name: pd.Series([], dtype="float64") for name in columns})
        run_expectations(frame, province, {PROVINCE_PARAMETER: [province], PERIOD_PARAMETER: []})


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
        outcomes.append(Outcome(kind=config.type, kwargs=dict(config.kwargs), meta=dict(config.meta or {}),
                                severity=str(getattr(config.severity, "value", config.severity)),
                                success=bool(result.success), failed_rows=failed_rows))
    return outcomes


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
