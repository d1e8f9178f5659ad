-- depends_on: {{ ref('int_unit_month_returns') }}, {{ source('raw', 'ref_indicators') }}

select
    v.month::date as month,
    v.province_code::text as province_code,
    v.district_code::text as district_code,
    v.district_key::text as district_key,
    v.unit_code::text as unit_code,
    v.unit_version_key::text as unit_version_key,
    v.indicator_code::text as indicator_code,
    v.value::numeric as value,
    v.population::integer as population,
    v.value_per_100k::numeric(24, 6) as value_per_100k,
    v.submission_id::bigint as submission_id
from {{ ref('int_unit_month_values') }} as v
where not v.is_local
    {{ cop_only_submissions('v', cop_changed_submission_ids(
           this_filter="indicator_code = '" ~ cop_first_required_indicator() ~ "'")) }}
