-- Districts of the registry with the dates they are in use: from the first day a unit of theirs is open and
-- described in them to the last such day (NULL: still in use). boundary_changed_on is the last day a unit
-- moved into or out of the district: a year-on-year comparison across it compares different areas.
with spans as (
    select
        district_key,
        greatest(valid_from, opened_on) as in_from,
        least(valid_to, closed_on) as in_to
    from {{ ref('stg_raw__units') }}
),

moves as (
    select touched.district_key, after.valid_from as moved_on
    from {{ ref('stg_raw__units') }} as after
    inner join {{ ref('stg_raw__units') }} as before
        on before.unit_code = after.unit_code
        and before.valid_to = after.valid_from - 1
        and before.district_key <> after.district_key
    cross join lateral (values (before.district_key), (after.district_key)) as touched (district_key)
),

use as (
    select
        district_key,
        min(in_from) as valid_from,
        case when bool_or(in_to is null) then null else max(in_to) end as valid_to
    from spans
    where in_to is null or in_to >= in_from
    group by district_key
)

select
    d.district_key::text as district_key,
    d.province_code::text as province_code,
    d.district_code::text as district_code,
    d.district_name::text as district_name,
    u.valid_from::date as valid_from,
    u.valid_to::date as valid_to,
    (u.valid_from is not null and u.valid_to is null)::boolean as is_current,
    (select max(m.moved_on) from moves as m where m.district_key = d.district_key)::date as boundary_changed_on
from {{ ref('stg_raw__districts') }} as d
left join use as u
    on u.district_key = d.district_key
