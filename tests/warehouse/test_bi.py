"""The warehouse as a BI tool sees it: definitions in the database (comments), declared joins (foreign keys),
clean index names, readers that land in marts."""
from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import yaml

from cop import db
from cop.build import build
from cop.spec import amendment_provinces, load_amendment, load_form

MARTS_DIR = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "marts"
# A column named like a dimension's key joins that dimension.
DIMENSION_KEYS = {"province_code": "dim_province", "district_key": "dim_district", "unit_version_key": "dim_unit",
                  "month": "dim_month", "indicator_code": "dim_indicator"}
# Columns named like a key that are not that key, and why.
NOT_THE_KEY = {
    ("rpt_unit_scores", "indicator_code"): "an indicator of the performance index (spec/scoring.yaml), not a form field",
    ("rpt_indicator_levels", "indicator_code"): "an indicator of the performance index (spec/scoring.yaml)",
}


def mart_models() -> list[dict]:
    return [model for path in sorted(MARTS_DIR.rglob("*.yml"))
            for model in (yaml.safe_load(path.read_text()) or {}).get("models", [])]


def declared_foreign_keys() -> set[tuple[str, tuple[str, ...], str]]:
    return {(model["name"], tuple(key["columns"]), key["to"].split("'")[1])
            for model in mart_models() for key in model.get("constraints", []) if key["type"] == "foreign_key"}


def test_every_mart_and_every_column_has_a_description():
    missing = [model["name"] for model in mart_models() if not str(model.get("description", "")).strip()]
    missing += [f"{model['name']}.{column['name']}" for model in mart_models() for column in model["columns"]
                if not str(column.get("description", "")).strip()]
    assert missing == []


def test_every_join_to_a_dimension_is_a_declared_foreign_key():
    joins = {(model, columns[0]) for model, columns, _ in declared_foreign_keys() if len(columns) == 1}
    undeclared = [f"{model['name']}.{column['name']}" for model in mart_models() for column in model["columns"]
                  if DIMENSION_KEYS.get(column["name"]) not in (None, model["name"])
                  and (model["name"], column["name"]) not in joins | set(NOT_THE_KEY)]
    assert undeclared == []


def test_the_database_carries_every_definition(built, warehouse_conn):
    tables = warehouse_conn.execute(
        "select c.relname, obj_description(c.oid, 'pg_class') from pg_class c "
        "where c.relnamespace = 'marts'::regnamespace and c.relkind = 'r'").fetchall()
    assert {name for name, _ in tables} >= {model["name"] for model in mart_models()}
    assert [name for name, comment in tables if not comment] == []
    uncommented = warehouse_conn.execute(
        "select c.relname || '.' || a.attname from pg_attribute a join pg_class c on c.oid = a.attrelid "
        "where c.relnamespace = 'marts'::regnamespace and c.relkind = 'r' and a.attnum > 0 "
        "and not a.attisdropped and col_description(c.oid, a.attnum) is null").fetchall()
    assert uncommented == []


def foreign_keys_in_database(conn: psycopg.Connection) -> set[tuple[str, tuple[str, ...], str]]:
    rows = conn.execute(
        "select c.conrelid::regclass::text, array(select attname from pg_attribute a join unnest(c.conkey) "
        "with ordinality k(attnum, n) using (attnum) where a.attrelid = c.conrelid order by k.n), "
        "c.confrelid::regclass::text from pg_constraint c "
        "where c.contype = 'f' and c.connamespace = 'marts'::regnamespace").fetchall()
    return {(table.split(".")[-1], tuple(columns), target.split(".")[-1]) for table, columns, target in rows}


def test_foreign_keys_are_in_the_database_and_survive_a_dimension_rebuilt_alone(built, warehouse_conn):
    assert foreign_keys_in_database(warehouse_conn) == declared_foreign_keys()
    result = build(select="dim_province dim_unit")  # dbt drops the replaced tables with CASCADE
    assert result.success, result.failure_report()
    assert foreign_keys_in_database(warehouse_conn) == declared_foreign_keys()


def test_a_foreign_key_refuses_a_row_without_its_dimension(built, warehouse_conn):
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        with warehouse_conn.transaction():
            warehouse_conn.execute("update marts.dim_unit set province_code = 'XX' where true")


def test_index_names_are_clean(built, warehouse_conn):
    indexes = warehouse_conn.execute("select indexname from pg_indexes where schemaname = 'marts'").fetchall()
    assert "dim_province_pkey" in {name for name, in indexes}
    assert [name for name, in indexes if "dbt" in name] == []


def test_readers_land_in_marts(built):
    for role in ("bi_reader", "province_reader_sd"):
        with psycopg.connect(db.role_url(role), autocommit=True) as conn:
            assert conn.execute("show search_path").fetchone() == ("marts",)
            assert conn.execute("select count(*) from dim_province").fetchone()[0] > 0


# ---------------------------------------------------------------- the indicator dimension


def test_one_indicator_dimension_with_how_each_figure_adds_up(built, warehouse_conn):
    form = load_form()
    rows = {row[0]: row[1:] for row in warehouse_conn.execute(
        "select indicator_code, scope, owner_province_code, aggregation, direction, part_of, collected_by, help_text "
        "from marts.dim_indicator")}
    assert {code for code, row in rows.items() if row[0] == "national"} == set(form.field_names)
    for province in amendment_provinces():
        for local in load_amendment(province).local_indicators:
            assert rows[local.name][:2] == ("local", province) and rows[local.name][5] == province
    assert rows["neighbourhood_watch_groups_active"][2:4] == ("stock", "higher")
    assert rows["officers_posted"][2] == "stock" and rows["survey_satisfied"][2] == "survey"
    assert rows["street_crime_reported"][2:5] == ("flow", "neutral", None)
    assert rows["mobile_snatching"][4] == "street_crime_reported"
    assert rows["homicide"][6] == form.field("homicide").help
    assert "KP" not in rows["social_media_posts"][5].split(", ")  # KP's amendment leaves it out
    by_province = warehouse_conn.execute(
        "select count(*) from marts.dim_indicator_province where indicator_code = 'social_media_posts'").fetchone()
    assert by_province == (len(rows["social_media_posts"][5].split(", ")),)


# ---------------------------------------------------------------- benchmarks


def street_crime_rate(conn: psycopg.Connection, province: str | None) -> float:
    """The rate per 100,000 by hand: the reporting units' street crime over their population."""
    return float(conn.execute(
        "select sum(value) * 100000.0 / sum(population) from marts.fct_unit_month_indicator "
        "where indicator_code = 'street_crime_reported' and month = '2024-12-01' and value is not null "
        "and (%(province)s::text is null or province_code = %(province)s)", {"province": province}).fetchone()[0])


def test_a_province_reader_gets_the_true_national_benchmark(built, warehouse_conn):
    national, sindh = street_crime_rate(warehouse_conn, None), street_crime_rate(warehouse_conn, "SD")
    assert national != pytest.approx(sindh)
    query = ("select area_code, value_per_100k from marts.rpt_benchmark_month "
             "where indicator_code = 'street_crime_reported' and month = '2024-12-01'")
    with psycopg.connect(db.role_url("province_reader_sd"), autocommit=True) as conn:
        rates = {area: float(rate) for area, rate in conn.execute(query)}
        assert conn.execute("select count(*) from marts.fct_unit_month_indicator "
                            "where province_code <> 'SD'").fetchone() == (0,)
    assert rates == {"PK": pytest.approx(national), "SD": pytest.approx(sindh),
                     "IC": pytest.approx(street_crime_rate(warehouse_conn, "IC")),
                     "PB": pytest.approx(street_crime_rate(warehouse_conn, "PB"))}


def test_a_stock_is_the_months_total_and_units_are_counted_honestly(built, warehouse_conn):
    row = warehouse_conn.execute(
        "select value_total, units_reporting, units_expected, aggregation from marts.rpt_benchmark_month "
        "where area_code = 'IC' and month = '2025-01-01' and indicator_code = 'officers_posted'").fetchone()
    by_hand = warehouse_conn.execute(
        "select sum(value), count(*) from marts.fct_unit_month_indicator where province_code = 'IC' "
        "and month = '2025-01-01' and indicator_code = 'officers_posted'").fetchone()
    assert row[:2] == by_hand and row[3] == "stock"
    assert row[2] == 27 and row[1] == 26  # IC-ISB-027 expected, never reported
