-- Each province's own (amended) indicators, only for its own units: never in the national facts.
select
    v.province_code::text as province_code,
    v.month::date as month,
    v.district_key::text as district_key,
    v.unit_code::text as unit_code,
    v.unit_version_key::text as unit_version_key,
    v.indicator_code::text as indicator_code,
    i.label::text as indicator_label,
    i.unit_of_measure::text as unit_of_measure,
    v.value::numeric as value,
    v.population::integer as population,
    v.value_per_100k::numeric(24, 6) as value_per_100k,
    v.submission_id::bigint as submission_id
from {{ ref('int_unit_month_values') }} as v
inner join {{ ref('stg_raw__indicators') }} as i
    on i.indicator_code = v.indicator_code
    and i.province_code = v.province_code
where v.is_local
