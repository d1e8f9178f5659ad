-- The national indicators of the form (spec/form.yaml via raw.ref_indicators). Local indicators of the
-- provincial amendments are not national and live in rpt_local_indicators.
select
    indicator_code::text as indicator_code,
    indicator_group::text as indicator_group,
    label::text as label,
    help_text::text as help_text,
    value_type::text as value_type,
    unit_of_measure::text as unit_of_measure,
    is_required::boolean as is_required,
    max_value::numeric as max_value,
    position::integer as position,
    (value_type = 'count')::boolean as has_population_rate
from {{ ref('stg_raw__indicators') }}
where not is_local
