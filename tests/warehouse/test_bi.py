"""The warehouse as a BI tool sees it: definitions in the database (comments), declared joins (foreign keys),
clean index names, readers that land in marts."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
import pytest
import yaml

from cop import db
from cop.build import build
from cop.registry import load_registry
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


# ---------------------------------------------------------------- analyst tables


def test_unit_month_reporting_status_adds_up_to_the_completeness_mart(built, warehouse_conn):
    by_unit = warehouse_conn.execute(
        "select province_code, month, count(*), count(*) filter (where is_reported), "
        "count(*) filter (where is_on_time), count(*) filter (where is_late), count(*) filter (where is_missing) "
        "from marts.fct_unit_month_reporting group by 1, 2 order by 1, 2").fetchall()
    completeness = warehouse_conn.execute(
        "select province_code, month, units_expected, units_reported, units_on_time, units_late, units_missing "
        "from marts.rpt_reporting_completeness where units_expected > 0 order by 1, 2").fetchall()
    assert by_unit == completeness
    silent = dict(warehouse_conn.execute(
        "select month, months_silent from marts.fct_unit_month_reporting where unit_code = 'IC-ISB-027'"))
    assert silent == {dt.date(2024, 12, 1): 1, dt.date(2025, 1, 1): 2}  # never reported
    assert warehouse_conn.execute("select reporting_status, months_silent from marts.fct_unit_month_reporting "
                                  "where unit_code = 'IC-ISB-026' and month = '2025-01-01'").fetchone() == ("late", None)


def test_months_are_bounded_to_the_data_with_the_fiscal_year(built, warehouse_conn):
    months = warehouse_conn.execute("select month, fiscal_year, fiscal_year_label, fiscal_quarter, year_quarter "
                                    "from marts.dim_month order by month").fetchall()
    assert months == [(dt.date(2024, 12, 1), 2025, "2024-25", 2, "2024-Q4"),
                      (dt.date(2025, 1, 1), 2025, "2024-25", 3, "2025-Q1")]


def test_districts_have_validity_dates_and_their_boundary_changes(built, warehouse_conn):
    districts = {row[0]: row[1:] for row in warehouse_conn.execute(
        "select district_key, valid_from, valid_to, boundary_changed_on from marts.dim_district "
        "where district_key in ('PB-KTA', 'PB-MZG', 'SD-KHS')")}
    assert districts["PB-KTA"] == (dt.date(2025, 1, 1), None, dt.date(2025, 1, 1))
    assert districts["PB-MZG"][1:] == (None, dt.date(2025, 1, 1))
    assert districts["SD-KHS"][2] is None


def test_provinces_carry_iso_codes_and_population_estimates_by_year(built, warehouse_conn):
    iso = dict(warehouse_conn.execute("select province_code, iso_3166_2 from marts.dim_province"))
    assert iso["SD"] == "PK-SD" and iso["IC"] == "PK-IS" and iso["AJ"] == "PK-JK"
    registry = load_registry()
    population = registry.unit_in("IC-ISB-001", dt.date(2025, 7, 1)).population
    ic = registry.province("IC")
    estimates = dict(warehouse_conn.execute(
        "select year, population_estimate from marts.rpt_population_year "
        "where area_level = 'unit' and area_code = 'IC-ISB-001'"))
    assert estimates == {year: round(population * (1 + ic.population_growth_percent / 100) ** (year - 2023))
                         for year in (2024, 2025)}
    province, districts = warehouse_conn.execute(
        "select (select population_estimate from marts.rpt_population_year where area_level = 'province' "
        "        and area_code = 'IC' and year = 2025), "
        "       (select sum(population_estimate) from marts.rpt_population_year where area_level = 'district' "
        "        and province_code = 'IC' and year = 2025)").fetchone()
    assert province == districts > 0


# ---------------------------------------------------------------- the semantic layer (MetricFlow)


@pytest.fixture(scope="module")
def lookup(built):
    from hub.metrics import semantic_manifest_lookup

    return semantic_manifest_lookup()


def answer(lookup, metrics: list[str], group_by: list[str]) -> dict[tuple, tuple]:
    """{group values: metric values} of a `cop metrics` query; numbers as floats."""
    from hub.metrics import query_metrics

    result = query_metrics(metrics, group_by, lookup=lookup)
    groups = [result.columns.index(name) for name in group_by]
    values = [result.columns.index(name) for name in metrics]
    return {tuple(_plain(row[i]) for i in groups): tuple(None if row[i] is None else float(row[i]) for i in values)
            for row in result.rows}


def _plain(value):
    return value.date() if isinstance(value, dt.datetime) else value


def assert_same(actual: dict[tuple, tuple], expected: dict[tuple, tuple]) -> None:
    assert set(actual) == set(expected)
    for key, values in actual.items():
        assert values == pytest.approx(expected[key]), key


def by_hand(conn: psycopg.Connection, query: str) -> dict[tuple, tuple]:
    rows = conn.execute(query).fetchall()
    return {tuple(row[:-1]): (float(row[-1]),) for row in rows}


def test_every_indicator_has_its_metric_and_the_agency_rates(lookup):
    from hub.metrics import list_metrics

    names = {info.name for info in list_metrics(lookup)}
    form = load_form()
    assert {f.name for f in form.fields if f.aggregation != "median"} <= names
    assert "median_days_to_resolve" not in names  # a median has no national total
    assert {"street_crime_reported_per_100k", "mobile_snatching_share", "female_officers_posted_share",
            "survey_satisfied_share", "reporting_rate", "on_time_rate"} <= names


def test_a_flow_sums_months_and_units_by_fiscal_year(lookup, warehouse_conn):
    flows = [f.name for f in load_form().fields if f.aggregation in ("flow", "survey")]
    metric_answer = answer(lookup, flows, ["province", "metric_time__fiscal_year"])
    sums = warehouse_conn.execute(
        "select province_code, d.fiscal_year_start, indicator_code, sum(value) from marts.fct_unit_month_indicator f "
        "join marts.dim_month d using (month) group by 1, 2, 3").fetchall()
    expected = {}
    for province, fiscal_year, indicator, total in sums:
        expected.setdefault((province, fiscal_year), {})[indicator] = None if total is None else float(total)
    assert set(metric_answer) == set(expected)
    for key, values in metric_answer.items():
        assert dict(zip(flows, values)) == pytest.approx({name: expected[key].get(name) for name in flows}), key


def test_a_stock_takes_each_stations_last_month_never_a_sum_of_months(lookup, warehouse_conn):
    metric_answer = answer(lookup, ["officers_posted"], ["province", "metric_time__fiscal_year"])
    expected = by_hand(warehouse_conn, """
        with last as (
            select f.unit_code, d.fiscal_year_start, max(f.month) as month
            from marts.fct_unit_month_indicator f join marts.dim_month d using (month)
            where f.indicator_code = 'officers_posted' group by 1, 2)
        select f.province_code, l.fiscal_year_start, sum(f.value)
        from marts.fct_unit_month_indicator f join last l using (unit_code, month)
        where f.indicator_code = 'officers_posted' group by 1, 2""")
    assert_same(metric_answer, expected)
    assert metric_answer[("IC", dt.date(2024, 7, 1))] == (26 * 61,)  # January's strength, not December's added


def test_rates_per_100k_use_the_reporting_units_population(lookup, warehouse_conn):
    metric_answer = answer(lookup, ["street_crime_reported_per_100k"], ["province", "metric_time__month"])
    expected = by_hand(warehouse_conn, """
        select province_code, month, sum(value) * 100000.0 / sum(population) from marts.fct_unit_month_indicator
        where indicator_code = 'street_crime_reported' and value is not null group by 1, 2""")
    assert_same(metric_answer, expected)


def test_shares_have_their_numerator_and_denominator(lookup, warehouse_conn):
    metric_answer = answer(lookup, ["mobile_snatching_share"], ["metric_time__year"])
    expected = by_hand(warehouse_conn, """
        select make_date(extract(year from month)::integer, 1, 1), sum(mobile_snatching)::numeric / sum(street_crime_reported)
        from marts.fct_unit_month where mobile_snatching is not null and street_crime_reported is not null group by 1""")
    assert_same(metric_answer, expected)


def test_a_share_of_stocks_takes_each_stations_last_month_of_both(lookup, warehouse_conn):
    metric_answer = answer(lookup, ["female_officers_posted_share"], ["metric_time__fiscal_year"])
    expected = by_hand(warehouse_conn, """
        with last as (select unit_code, max(month) as month from marts.fct_unit_month
                      where female_officers_posted is not null and officers_posted is not null group by 1)
        select make_date(2024, 7, 1), sum(f.female_officers_posted)::numeric / sum(f.officers_posted)
        from marts.fct_unit_month f join last using (unit_code, month)""")
    assert_same(metric_answer, expected)


def test_reporting_and_on_time_rates_by_district_and_province(lookup, warehouse_conn):
    metric_answer = answer(lookup, ["reporting_rate", "on_time_rate"], ["province__province_name", "metric_time__month"])
    rows = warehouse_conn.execute(
        "select p.province_name, c.month, c.units_reported::numeric / c.units_expected, "
        "c.units_on_time::numeric / c.units_expected from marts.rpt_reporting_completeness c "
        "join marts.dim_province p using (province_code) where c.units_expected > 0").fetchall()
    assert_same(metric_answer, {(name, month): (float(rate), float(on_time)) for name, month, rate, on_time in rows})
    by_district = answer(lookup, ["disputes_resolved"], ["district__district_name"])
    expected = by_hand(warehouse_conn, """
        select d.district_name, sum(f.value) from marts.fct_unit_month_indicator f join marts.dim_district d using (district_key)
        where f.indicator_code = 'disputes_resolved' group by 1""")
    assert_same(by_district, expected)


def test_cop_metrics_answers_on_the_command_line(built):
    from typer.testing import CliRunner

    from hub.cli import app

    result = CliRunner().invoke(app, ["metrics", "query", "--metrics", "reporting_rate", "--group-by", "province"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "province,reporting_rate"
    refused = CliRunner().invoke(app, ["metrics", "query", "--metrics", "no_such_metric"])
    assert refused.exit_code == 1 and "unknown metric(s): no_such_metric" in refused.output
