-- The federal desk's latest decision on each story (unit, month, narrative, exact text): publishable or not.
select distinct on (unit_code, period, narrative_code, text_sha256)
    unit_code,
    period as month,
    narrative_code,
    text_sha256,
    publishable as is_publishable,
    actor as decided_by,
    at as decided_at
from {{ source('review', 'story_decisions') }}
order by unit_code, period, narrative_code, text_sha256, at desc, decision_id desc
