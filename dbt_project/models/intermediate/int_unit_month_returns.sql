-- The unit-months of the latest accepted versions, described by the registry version valid that
-- month (so a unit that moved district counts in its district of that month).
select
    r.month,
    u.province_code,
    u.district_code,
    u.district_key,
    r.unit_code,
    u.unit_version_key,
    u.population,
    r.submission_id
from {{ ref('stg_raw__return_rows') }} as r
inner join {{ ref('stg_raw__units') }} as u
    on u.unit_code = r.unit_code
    and {{ cop_version_valid_in('u', 'r.month') }}
where r.is_latest
