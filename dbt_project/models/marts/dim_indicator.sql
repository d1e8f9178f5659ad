-- Every indicator a return carries: the national form's (spec/form.yaml via raw.ref_indicators) and each
-- province's local ones (spec/amendments/), with how each adds up (aggregation), which way is better
-- (direction), the field it is a subset of (part_of), the provinces that collect it, and the months it is
-- collected: from the first month of the version that introduced it to the last month of the last version
-- that had it (NULL: still collected). The national facts hold national indicators only; local ones are in
-- rpt_local_indicators.
select
    i.indicator_code::text as indicator_code,
    (case when i.is_local then 'local' else 'national' end)::text as scope,
    i.province_code::text as owner_province_code,
    i.indicator_group::text as indicator_group,
    i.label::text as label,
    i.help_text::text as help_text,
    i.value_type::text as value_type,
    i.unit_of_measure::text as unit_of_measure,
    i.aggregation::text as aggregation,
    i.direction::text as direction,
    i.part_of::text as part_of,
    i.collected_by::text as collected_by,
    cardinality(string_to_array(i.collected_by, ', '))::integer as provinces_collecting,
    i.is_required::boolean as is_required,
    i.max_value::numeric as max_value,
    i.position::integer as position,
    (i.value_type = 'count')::boolean as has_population_rate,
    i.first_version::integer as first_version,
    i.last_version::integer as last_version,
    introduced.first_month::date as first_month,
    dropped.last_month::date as last_month
from {{ ref('stg_raw__indicators') }} as i
inner join {{ ref('stg_raw__form_versions') }} as introduced
    on introduced.form_version = i.first_version
left join {{ ref('stg_raw__form_versions') }} as dropped
    on dropped.form_version = i.last_version
