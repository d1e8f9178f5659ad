"""`cop metrics`: the agency's metrics from the semantic layer (dbt semantic models and metrics under
dbt_project/models/marts/semantic/), answered by MetricFlow on this COP_HOME's warehouse.

MetricFlow writes the SQL from the metric definitions (aggregation, denominators, joins to the dimensions);
the query runs as the read-only bi_reader role, so `cop metrics` can read what a BI tool can and nothing else.
The semantic manifest is the one `dbt parse` writes beside the build's other artifacts (COP_HOME/dbt/target).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import psycopg
from metricflow.data_table.mf_table import MetricFlowDataTable
from metricflow.engine.metricflow_engine import MetricFlowEngine, MetricFlowQueryRequest
from metricflow.protocols.sql_client import SqlEngine
from metricflow.sql.render.postgres import PostgresSQLSqlPlanRenderer
from metricflow_semantics.model.dbt_manifest_parser import parse_manifest_from_dbt_generated_manifest
from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup
from metricflow_semantics.sql.sql_bind_parameters import SqlBindParameterSet

from cop import db
from cop.build import run_dbt
from cop.paths import state_dir
from cop.security import BI_READER_ROLE

# The time dimension every metric shares, by grain: metric_time__month, __quarter, __year, __fiscal_year.
TIME_GRAINS = ("month", "quarter", "year", "fiscal_year")


class MetricsError(RuntimeError):
    """The semantic layer cannot answer: the project does not parse, or the question names something unknown."""


@dataclass(frozen=True)
class MetricInfo:
    name: str
    kind: str
    label: str
    description: str


@dataclass(frozen=True)
class MetricsAnswer:
    columns: tuple[str, ...]
    rows: list[tuple]
    sql: str


class ReaderSqlClient:
    """MetricFlow's SqlClient on one psycopg connection as bi_reader (read-only, marts only)."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self._conn = conn

    @property
    def sql_engine_type(self) -> SqlEngine:
        return SqlEngine.POSTGRES

    @property
    def sql_plan_renderer(self) -> PostgresSQLSqlPlanRenderer:
        return PostgresSQLSqlPlanRenderer()

    def query(self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = SqlBindParameterSet()) -> MetricFlowDataTable:
        with self._conn.cursor() as cursor:
            cursor.execute(stmt, dict(sql_bind_parameter_set.param_dict) or None)
            columns = [column.name for column in cursor.description]
            return MetricFlowDataTable.create_from_rows(column_names=columns, rows=cursor.fetchall())

    def execute(self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = SqlBindParameterSet()) -> None:
        self._conn.execute(stmt, dict(sql_bind_parameter_set.param_dict) or None)

    def dry_run(self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = SqlBindParameterSet()) -> None:
        self._conn.execute("explain " + stmt, dict(sql_bind_parameter_set.param_dict) or None)

    def close(self) -> None:
        self._conn.close()

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"%({bind_parameter_key})s"


def semantic_manifest_lookup() -> SemanticManifestLookup:
    """The semantic layer as dbt parses it now (`dbt parse` writes target/semantic_manifest.json)."""
    result = run_dbt(["parse"], quiet=True)
    if not result.success:
        raise MetricsError(f"the dbt project does not parse: {result.failure_report()}")
    path = state_dir("dbt") / "target" / "semantic_manifest.json"
    return SemanticManifestLookup(parse_manifest_from_dbt_generated_manifest(path.read_text(encoding="utf-8")))


def list_metrics(lookup: SemanticManifestLookup | None = None) -> list[MetricInfo]:
    lookup = lookup or semantic_manifest_lookup()
    return sorted((MetricInfo(m.name, str(m.type.value), m.label or m.name, m.description or "")
                   for m in lookup.semantic_manifest.metrics), key=lambda info: info.name)


def query_metrics(metrics: Sequence[str], group_by: Sequence[str] = (), where: Sequence[str] = (),
                  order_by: Sequence[str] = (), limit: int | None = None,
                  lookup: SemanticManifestLookup | None = None) -> MetricsAnswer:
    """Answer `metrics` grouped by `group_by` (e.g. metric_time__year, province, province__province_name,
    district__district_name), filtered by MetricFlow `where` clauses, as bi_reader."""
    lookup = lookup or semantic_manifest_lookup()
    known = {info.name for info in list_metrics(lookup)}
    unknown = [name for name in metrics if name not in known]
    if unknown:
        raise MetricsError(f"unknown metric(s): {', '.join(unknown)}; `cop metrics list` shows them all")
    request = MetricFlowQueryRequest.create(
        metric_names=list(metrics), group_by_names=list(group_by), where_constraints=list(where) or None,
        order_by_names=list(order_by) or None, limit=limit)
    with psycopg.connect(db.role_url(BI_READER_ROLE), autocommit=True) as conn:
        engine = MetricFlowEngine(semantic_manifest_lookup=lookup, sql_client=ReaderSqlClient(conn))
        try:
            result = engine.query(request)
        except Exception as exc:  # MetricFlow's own errors name the unknown dimension or the bad filter
            raise MetricsError(str(exc).strip() or repr(exc)) from exc
    table = result.result_df
    return MetricsAnswer(tuple(table.column_names), [tuple(row) for row in table.rows], result.sql or "")
