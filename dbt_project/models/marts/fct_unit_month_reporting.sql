-- Each unit x month the registry expects a return for, with its reporting status (definitions in
-- int_unit_month_reporting) and how long the unit has been silent.
with status as (
    select
        r.*,
        count(*) filter (where r.reporting_status <> 'missing')
            over (partition by r.unit_code order by r.month) as reports_so_far
    from {{ ref('int_unit_month_reporting') }} as r
)

select
    s.month::date as month,
    s.province_code::text as province_code,
    s.district_key::text as district_key,
    s.unit_code::text as unit_code,
    s.unit_version_key::text as unit_version_key,
    s.reporting_status::text as reporting_status,
    s.is_reported::boolean as is_reported,
    (s.reporting_status = 'on_time')::boolean as is_on_time,
    (s.reporting_status = 'late')::boolean as is_late,
    (s.reporting_status = 'missing')::boolean as is_missing,
    s.due_at::timestamptz as due_at,
    s.reported_at::timestamptz as reported_at,
    (case when s.reporting_status = 'missing' then
        count(*) filter (where s.reporting_status = 'missing')
            over (partition by s.unit_code, s.reports_so_far order by s.month) end)::integer as months_silent
from status as s
