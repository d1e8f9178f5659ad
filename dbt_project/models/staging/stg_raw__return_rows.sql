-- The rows of every accepted version (timeliness needs the earlier versions too);
-- is_latest marks the rows of the version the warehouse uses.
select
    r.submission_id,
    r.source_row,
    r.province_code,
    r.district_code as reported_district_code,
    r.unit_code,
    r.period as month,
    s.received_at,
    s.is_latest
from {{ source('raw', 'return_rows') }} as r
inner join {{ ref('stg_raw__accepted_submissions') }} as s
    on s.submission_id = r.submission_id
