-- The narratives of the latest accepted version of each province-month, exactly as written, with the sha256
-- of the exact text (a federal decision on a story holds for that text only: review.story_decisions).
select
    n.submission_id,
    s.province_code,
    s.month,
    n.unit_code,
    n.narrative_code,
    n.text,
    encode(sha256(convert_to(n.text, 'UTF8')), 'hex') as text_sha256,
    n.personal_data
from {{ source('raw', 'return_narratives') }} as n
inner join {{ ref('stg_raw__accepted_submissions') }} as s
    on s.submission_id = n.submission_id
where s.is_latest
