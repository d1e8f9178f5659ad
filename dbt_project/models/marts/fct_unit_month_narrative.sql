-- The narratives of the latest accepted version of each unit-month (form v2: achievement, challenge, success
-- story), exactly as the province wrote them, with the federal desk's decision on publishing each one.
select
    r.month::date as month,
    r.province_code::text as province_code,
    r.district_key::text as district_key,
    r.unit_code::text as unit_code,
    r.unit_version_key::text as unit_version_key,
    n.narrative_code::text as narrative_code,
    n.text::text as text,
    n.text_sha256::text as text_sha256,
    n.personal_data::text as personal_data,
    coalesce(d.is_publishable, false)::boolean as is_publishable,
    d.decided_by::text as decided_by,
    d.decided_at::timestamptz as decided_at,
    n.submission_id::bigint as submission_id
from {{ ref('stg_raw__return_narratives') }} as n
inner join {{ ref('int_unit_month_returns') }} as r
    on r.submission_id = n.submission_id
    and r.unit_code = n.unit_code
left join {{ ref('stg_review__story_decisions') }} as d
    on d.unit_code = n.unit_code
    and d.month = n.month
    and d.narrative_code = n.narrative_code
    and d.text_sha256 = n.text_sha256
