-- Reporting completeness and timeliness per province and month (definitions in the model's YAML).
with province_months as (
    select
        p.province_code,
        m.month,
        {{ cop_due_at('m.month', 'p.due_day') }} as due_at
    from {{ ref('stg_raw__provinces') }} as p
    cross join {{ ref('int_reporting_months') }} as m
),

units as (
    select
        province_code,
        month,
        count(*) as units_expected,
        count(*) filter (where is_reported) as units_reported,
        count(*) filter (where reporting_status = 'on_time') as units_on_time,
        count(*) filter (where reporting_status = 'late') as units_late,
        count(*) filter (where reporting_status = 'missing') as units_missing
    from {{ ref('int_unit_month_reporting') }}
    group by province_code, month
),

versions as (
    select
        province_code,
        month,
        count(*) as accepted_versions,
        min(first_accepted_at) as first_accepted_at,
        max(submission_id) filter (where is_latest) as latest_submission_id
    from {{ ref('stg_raw__accepted_submissions') }}
    group by province_code, month
)

select
    pm.province_code::text as province_code,
    pm.month::date as month,
    pm.due_at::timestamptz as due_at,
    coalesce(u.units_expected, 0)::integer as units_expected,
    coalesce(u.units_reported, 0)::integer as units_reported,
    coalesce(u.units_missing, 0)::integer as units_missing,
    coalesce(u.units_on_time, 0)::integer as units_on_time,
    coalesce(u.units_late, 0)::integer as units_late,
    round(u.units_reported::numeric / nullif(u.units_expected, 0), 4)::numeric(5, 4) as reporting_rate,
    round(u.units_on_time::numeric / nullif(u.units_expected, 0), 4)::numeric(5, 4) as on_time_rate,
    coalesce(v.accepted_versions, 0)::integer as accepted_versions,
    v.first_accepted_at::timestamptz as first_accepted_at,
    v.latest_submission_id::bigint as latest_submission_id,
    coalesce(st.reporting_state, case when now() < pm.due_at then 'not_due' else 'missing' end)::text
        as reporting_state,
    coalesce(st.review_state, 'awaiting')::text as review_state,
    coalesce(st.is_locked, false)::boolean as is_locked
from province_months as pm
left join units as u
    on u.province_code = pm.province_code
    and u.month = pm.month
left join versions as v
    on v.province_code = pm.province_code
    and v.month = pm.month
left join {{ ref('stg_review__month_states') }} as st
    on st.province_code = pm.province_code
    and st.month = pm.month
