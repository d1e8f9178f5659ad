-- Which province collects which indicator: every national field its amendment keeps (an optional field may
-- be left out) and its own local indicators. Before first_month and after last_month nobody collects it.
select
    i.indicator_code::text as indicator_code,
    p.province_code::text as province_code,
    (i.province_code is not null)::boolean as is_local,
    i.is_required::boolean as is_required,
    introduced.first_month::date as first_month,
    dropped.last_month::date as last_month
from {{ ref('stg_raw__indicators') }} as i
cross join lateral unnest(string_to_array(i.collected_by, ', ')) as p (province_code)
inner join {{ ref('stg_raw__form_versions') }} as introduced
    on introduced.form_version = i.first_version
left join {{ ref('stg_raw__form_versions') }} as dropped
    on dropped.form_version = i.last_version
