-- The unit rankings of each year with their uncertainty, from the latest scoring run of the year.
-- The rank is ordinal, by the published score (rounded to one decimal, as printed): a higher score never
-- ranks below a lower one, and stations with the same published score share the rank, written "=N"
-- (competition ranking: 1, =2, =2, 4). Beside it, the 90% interval of the ranks over the Monte Carlo draws.
with latest as (
    select r.*, round(r.index_score, 1) as published_score
    from {{ source('scores', 'unit_rankings') }} as r
    where r.run_id in (select max(run_id) from {{ source('scores', 'runs') }} group by year)
),

rankings as (
    select
        r.*,
        case when r.is_ranked then
            rank() over (partition by r.year, r.is_ranked order by r.published_score desc) end as national_rank,
        case when r.is_ranked then
            rank() over (partition by r.year, r.is_ranked, r.province_code order by r.published_score desc)
        end as province_rank,
        count(*) over (partition by r.year, r.is_ranked, r.published_score) as units_at_rank,
        count(*) over (partition by r.year, r.is_ranked, r.province_code, r.published_score) as units_at_province_rank
    from latest as r
)

select
    r.year::integer as year,
    r.unit_code::text as unit_code,
    u.unit_name::text as unit_name,
    r.province_code::text as province_code,
    r.district_key::text as district_key,
    d.district_name::text as district_name,
    r.urban_rural::text as urban_rural,
    r.population::integer as population,
    r.peer_group::text as peer_group,
    r.months_expected::integer as months_expected,
    r.months_reported::integer as months_reported,
    r.is_ranked::boolean as is_ranked,
    r.not_ranked_reason::text as not_ranked_reason,
    r.partnership_score::numeric as partnership_score,
    r.problem_solving_score::numeric as problem_solving_score,
    r.organisational_transformation_score::numeric as organisational_transformation_score,
    r.outcomes_score::numeric as outcomes_score,
    r.index_score::numeric as index_score,
    r.national_rank::integer as national_rank,
    r.point_rank::integer as point_rank,
    r.median_rank::integer as median_rank,
    r.rank_low::integer as rank_low,
    r.rank_high::integer as rank_high,
    (case when r.is_ranked then
        case when r.units_at_rank > 1 then '=' else '' end || r.national_rank end)::text as rank_label,
    (r.is_ranked and r.units_at_rank > 1)::boolean as is_tied,
    r.province_rank::integer as province_rank,
    r.province_median_rank::integer as province_median_rank,
    r.province_rank_low::integer as province_rank_low,
    r.province_rank_high::integer as province_rank_high,
    (case when r.is_ranked then
        case when r.units_at_province_rank > 1 then '=' else '' end || r.province_rank end)::text
        as province_rank_label,
    r.national_award::boolean as national_award,
    r.province_award::boolean as province_award,
    r.run_id::bigint as run_id,
    run.seed::bigint as seed,
    run.draws::integer as draws,
    run.config_sha256::text as config_sha256,
    run.created_at::timestamptz as scored_at
from rankings as r
inner join {{ source('scores', 'runs') }} as run
    on run.run_id = r.run_id
left join {{ ref('dim_unit') }} as u
    on u.unit_code = r.unit_code
    and u.valid_from <= make_date(r.year, 12, 1)
    and (u.valid_to is null or u.valid_to >= make_date(r.year, 12, 1))
left join {{ ref('dim_district') }} as d
    on d.district_key = r.district_key
