-- The latest accepted values of each unit-month (national and local indicators, is_local says which),
-- with the rate per 100,000 people the unit serves that month: counts only; NULL stays NULL.
select
    r.month,
    r.province_code,
    r.district_code,
    r.district_key,
    r.unit_code,
    r.unit_version_key,
    v.indicator_code,
    i.is_local,
    v.value,
    r.population,
    case
        when i.value_type = 'count' then round(v.value * 100000 / r.population, 6)
    end as value_per_100k,
    r.submission_id
from {{ ref('int_unit_month_returns') }} as r
inner join {{ ref('stg_raw__return_values') }} as v
    on v.submission_id = r.submission_id
    and v.unit_code = r.unit_code
inner join {{ ref('stg_raw__indicators') }} as i
    on i.indicator_code = v.indicator_code
