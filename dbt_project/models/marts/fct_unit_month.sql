-- depends_on: {{ ref('int_unit_month_returns') }}, {{ source('raw', 'ref_indicators') }}
{%- set indicators = cop_national_indicators() %}

select
    r.month::date as month,
    r.province_code::text as province_code,
    r.district_code::text as district_code,
    r.district_key::text as district_key,
    r.unit_code::text as unit_code,
    r.unit_version_key::text as unit_version_key,
    r.population::integer as population,
    r.submission_id::bigint as submission_id
    {%- for indicator in indicators %},
    (max(v.value) filter (where v.indicator_code = '{{ indicator }}'))::numeric as {{ adapter.quote(indicator) }}
    {%- endfor %}
from {{ ref('int_unit_month_returns') }} as r
left join {{ ref('stg_raw__return_values') }} as v
    on v.submission_id = r.submission_id
    and v.unit_code = r.unit_code
where true
    {{ cop_only_changed_partitions('r') }}
group by r.month, r.province_code, r.district_code, r.district_key, r.unit_code, r.unit_version_key,
    r.population, r.submission_id
