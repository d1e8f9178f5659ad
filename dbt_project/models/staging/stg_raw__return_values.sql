-- The values of the latest accepted version of each province-month: the figures the warehouse uses.
select
    v.submission_id,
    s.province_code,
    s.month,
    v.unit_code,
    v.indicator_code,
    v.value
from {{ source('raw', 'return_values') }} as v
inner join {{ ref('stg_raw__accepted_submissions') }} as s
    on s.submission_id = v.submission_id
where s.is_latest
