-- National and provincial figures of every national indicator per month, with honest denominators: the
-- units that reported a value and the population they serve. No unit's row: every province reader may read
-- all of it (the national figure a province compares itself with is the nation's, not its own province's).
with reported as (
    select f.month, f.province_code, f.indicator_code, f.value, f.population
    from {{ ref('fct_unit_month_indicator') }} as f
    where f.value is not null
),

areas as (
    select
        month, indicator_code,
        grouping(province_code) = 1 as is_national,
        province_code,
        sum(value) as value_total,
        avg(value) as value_per_unit,
        count(*) as units_reporting,
        sum(population) as population_reporting
    from reported
    group by grouping sets ((month, indicator_code, province_code), (month, indicator_code))
),

expected as (
    select
        month,
        grouping(province_code) = 1 as is_national,
        province_code,
        sum(units_expected) as units_expected,
        sum(units_reported) as units_reported
    from {{ ref('rpt_reporting_completeness') }}
    group by grouping sets ((month, province_code), (month))
)

select
    (case when a.is_national then 'national' else 'province' end)::text as area_kind,
    (case when a.is_national then 'PK' else a.province_code end)::text as area_code,
    a.province_code::text as province_code,
    a.month::date as month,
    a.indicator_code::text as indicator_code,
    i.aggregation::text as aggregation,
    (case when i.aggregation <> 'median' then a.value_total end)::numeric as value_total,
    a.value_per_unit::numeric(24, 6) as value_per_unit,
    a.units_reporting::integer as units_reporting,
    e.units_reported::integer as units_in_returns,
    e.units_expected::integer as units_expected,
    a.population_reporting::bigint as population_reporting,
    (case when i.has_population_rate
          then a.value_total * 100000.0 / nullif(a.population_reporting, 0) end)::numeric(24, 6) as value_per_100k
from areas as a
inner join {{ ref('dim_indicator') }} as i
    on i.indicator_code = a.indicator_code
left join expected as e
    on e.month = a.month
    and e.is_national = a.is_national
    and e.province_code is not distinct from a.province_code
