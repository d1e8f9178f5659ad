-- The sensitivity analysis of the latest scoring run of each year (reporting.sensitivity): each ranked
-- unit's rank under each alternative choice, beside its rank as published (scenario 'published'), the
-- shift between them, and whether it is still within the award cut-offs of its fields.
with scenarios as (
    select s.*
    from {{ source('scores', 'scenario_ranks') }} as s
    where s.run_id in (select max(run_id) from {{ source('scores', 'runs') }} group by year)
)

select
    s.year::integer as year,
    s.scenario::text as scenario,
    s.scenario_label::text as scenario_label,
    s.unit_code::text as unit_code,
    s.province_code::text as province_code,
    s.index_score::numeric as index_score,
    s.national_rank::integer as national_rank,
    s.province_rank::integer as province_rank,
    b.national_rank::integer as published_national_rank,
    abs(s.national_rank - b.national_rank)::integer as national_rank_shift,
    abs(s.province_rank - b.province_rank)::integer as province_rank_shift,
    (s.national_rank <= s.national_cut_off)::boolean as within_national_cut_off,
    (s.province_rank <= s.province_cut_off)::boolean as within_province_cut_off,
    s.run_id::bigint as run_id
from scenarios as s
inner join scenarios as b
    on b.run_id = s.run_id
    and b.unit_code = s.unit_code
    and b.scenario = 'published'
