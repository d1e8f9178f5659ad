-- Units expected to report each month, described by the registry version valid that month: a unit is
-- expected when it opened on or before the month's last day and had not closed before its first day.
select
    m.month,
    u.province_code,
    u.district_code,
    u.district_key,
    u.unit_code,
    u.unit_version_key,
    u.population
from {{ ref('int_reporting_months') }} as m
inner join {{ ref('stg_raw__units') }} as u
    on {{ cop_version_valid_in('u', 'm.month') }}
    and {{ cop_unit_open_in('u', 'm.month') }}
