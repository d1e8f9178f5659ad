-- Each expected unit-month: reported or not, and on time or late.
--   reported: the unit has a row in the latest accepted version of its province-month;
--   reported_at: when an accepted version first carried the unit's row (a later revision does not
--                make an on-time unit late; a unit first sent in a late revision is late);
--   due_at: the instant day due_day of the following month ends (midnight after it, Pakistan time);
--   status: on_time (reported, reported_at < due_at), late (reported at or after due_at), missing.
with rows_by_unit as (
    select
        province_code,
        month,
        unit_code,
        bool_or(is_latest) as in_latest_version,
        min(received_at) as reported_at
    from {{ ref('stg_raw__return_rows') }}
    group by province_code, month, unit_code
),

expected as (
    select
        e.*,
        {{ cop_due_at('e.month', 'p.due_day') }} as due_at
    from {{ ref('int_unit_months_expected') }} as e
    inner join {{ ref('stg_raw__provinces') }} as p
        on p.province_code = e.province_code
)

select
    e.month,
    e.province_code,
    e.district_code,
    e.district_key,
    e.unit_code,
    e.unit_version_key,
    e.due_at,
    coalesce(r.in_latest_version, false) as is_reported,
    case when r.in_latest_version then r.reported_at end as reported_at,
    case
        when not coalesce(r.in_latest_version, false) then 'missing'
        when r.reported_at < e.due_at then 'on_time'
        else 'late'
    end as reporting_status
from expected as e
left join rows_by_unit as r
    on r.province_code = e.province_code
    and r.month = e.month
    and r.unit_code = e.unit_code
