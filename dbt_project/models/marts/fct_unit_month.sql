-- depends_on: {{ ref('int_unit_month_returns') }}, {{ source('raw', 'ref_indicators') }}
{%- set indicators = cop_national_indicators() %}
{%- set changed_submissions = cop_changed_submission_ids() %}

-- In an incremental run, the changed submissions' values are fetched once (materialized); inlined, the
-- planner would re-derive the latest submissions for every unit row it joins.
with reported_values as {{ 'materialized' if changed_submissions is not none else 'not materialized' }} (
    select v.submission_id, v.unit_code, v.indicator_code, v.value
    from {{ ref('stg_raw__return_values') }} as v
    where true
        {{ cop_only_submissions('v', changed_submissions) }}
)

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
left join reported_values as v
    on v.submission_id = r.submission_id
    and v.unit_code = r.unit_code
where true
    {{ cop_only_submissions('r', changed_submissions) }}
group by r.month, r.province_code, r.district_code, r.district_key, r.unit_code, r.unit_version_key,
    r.population, r.submission_id
