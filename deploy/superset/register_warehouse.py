"""Registers the COP warehouse in Superset as the read-only bi_reader (COP_BI_WAREHOUSE_URL) and every table
of its marts schema as a dataset, with the columns' descriptions from the database's comments and a few
metrics whose denominators are the honest ones (docs/bi.md). Run by deploy/superset/bi.sh with Superset's
own Python; idempotent."""
import os

from sqlalchemy import inspect

from superset.app import create_app

DATABASE_NAME = "COP warehouse (bi_reader)"
# dataset -> {metric: SQL}: ratios of sums, never averages of rates.
METRICS = {
    "rpt_benchmark_month": {
        "rate_per_100k": "sum(value_total) * 100000.0 / nullif(sum(population_reporting), 0)",
    },
    "fct_unit_month_indicator": {
        "rate_per_100k": "sum(value) * 100000.0 / nullif(sum(population) filter (where value is not null), 0)",
    },
    "fct_unit_month_reporting": {
        "reporting_rate": "avg(case when is_reported then 1.0 else 0.0 end)",
        "on_time_rate": "avg(case when is_on_time then 1.0 else 0.0 end)",
    },
}


def register(url: str) -> list[str]:
    from superset import db
    from superset.connectors.sqla.models import SqlaTable, SqlMetric
    from superset.models.core import Database

    database = db.session.query(Database).filter_by(database_name=DATABASE_NAME).one_or_none()
    if database is None:
        database = Database(database_name=DATABASE_NAME)
        db.session.add(database)
    database.set_sqlalchemy_uri(url)
    database.expose_in_sqllab = True
    database.allow_run_async = False
    db.session.commit()
    with database.get_sqla_engine() as engine:
        inspector = inspect(engine)
        tables = sorted(inspector.get_table_names(schema="marts"))
        comments = {table: (inspector.get_table_comment(table, schema="marts") or {}).get("text") for table in tables}
        column_comments = {table: {c["name"]: c.get("comment") for c in inspector.get_columns(table, schema="marts")}
                           for table in tables}
    for table in tables:
        dataset = (db.session.query(SqlaTable)
                   .filter_by(database_id=database.id, schema="marts", table_name=table).one_or_none())
        if dataset is None:
            dataset = SqlaTable(table_name=table, schema="marts", database=database)
            db.session.add(dataset)
        dataset.description = comments[table]
        dataset.fetch_metadata()
        for column in dataset.columns:
            column.description = column_comments[table].get(column.column_name)
        for name, expression in METRICS.get(table, {}).items():
            if not any(metric.metric_name == name for metric in dataset.metrics):
                dataset.metrics.append(SqlMetric(metric_name=name, expression=expression))
        db.session.commit()
    return tables


if __name__ == "__main__":
    with create_app().app_context():
        names = register(os.environ["COP_BI_WAREHOUSE_URL"])
    print(f"Superset: database '{DATABASE_NAME}' and {len(names)} datasets of schema marts")
