-- Population estimates by year for units, districts and provinces (spec/registry: a unit's population is for
-- its province's population_base_year; other years grow or shrink at population_growth_percent a year). A
-- unit counts in a year as it was on 1 July (mid-year), when it was open then.
with years as (
    select distinct year, make_date(year, 7, 1) as mid_year
    from {{ ref('dim_month') }}
),

units as (
    select
        y.year,
        u.unit_code,
        u.province_code,
        u.district_key,
        round(u.population * power(1 + p.population_growth_percent / 100.0,
                                   y.year - p.population_base_year)) as population
    from years as y
    inner join {{ ref('stg_raw__units') }} as u
        on {{ cop_version_valid_in('u', 'y.mid_year') }}
        and {{ cop_unit_open_in('u', 'y.mid_year') }}
    inner join {{ ref('stg_raw__provinces') }} as p
        on p.province_code = u.province_code
),

levels as (
    select 'unit' as area_level, unit_code as area_code, province_code, district_key, unit_code, year,
           population, 1 as units
    from units
    union all
    select 'district', district_key, province_code, district_key, null, year, sum(population), count(*)
    from units
    group by province_code, district_key, year
    union all
    select 'province', province_code, province_code, null, null, year, sum(population), count(*)
    from units
    group by province_code, year
)

select
    area_level::text as area_level,
    area_code::text as area_code,
    province_code::text as province_code,
    district_key::text as district_key,
    unit_code::text as unit_code,
    year::integer as year,
    population::bigint as population_estimate,
    units::integer as units
from levels
