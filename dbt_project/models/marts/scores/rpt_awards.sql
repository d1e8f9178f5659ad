-- The awards of each year's latest scoring run: every unit that qualified, awarded or withheld (a serious
-- recording-integrity flag, with its evidence), with its published rank (ties explicit) and rank interval.
select
    a.year::integer as year,
    a.award_scope::text as award_scope,
    a.province_code::text as province_code,
    a.unit_code::text as unit_code,
    r.unit_name::text as unit_name,
    r.district_name::text as district_name,
    a.award::text as award,
    a.median_rank::integer as median_rank,
    a.rank_low::integer as rank_low,
    a.rank_high::integer as rank_high,
    (case when a.award_scope = 'national' then r.rank_label else r.province_rank_label end)::text as rank_label,
    r.index_score::numeric as index_score,
    (case when a.award_scope = 'national' then r.national_rank else r.province_rank end)::integer as rank,
    a.rule::text as rule,
    a.status::text as status,
    a.withheld_reason::text as withheld_reason,
    a.run_id::bigint as run_id,
    r.seed::bigint as seed
from {{ source('scores', 'awards') }} as a
inner join {{ ref('rpt_unit_rankings') }} as r
    on r.run_id = a.run_id
    and r.unit_code = a.unit_code
