-- The unit rankings of each year with their uncertainty, from the latest scoring run of the year.
-- Ties are explicit: ranked units that share a median rank share its label, written "=N".
with rankings as (
    select
        r.*,
        count(*) filter (where r.is_ranked) over (partition by r.year, r.median_rank) as units_at_rank,
        count(*) filter (where r.is_ranked)
            over (partition by r.year, r.province_code, r.province_median_rank) as units_at_province_rank
    from {{ source('scores', 'unit_rankings') }} as r
    where r.run_id in (select max(run_id) from {{ source('scores', 'runs') }} group by year)
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
    r.point_rank::integer as point_rank,
    r.median_rank::integer as median_rank,
    r.rank_low::integer as rank_low,
    r.rank_high::integer as rank_high,
    (case when r.is_ranked then
        case when r.units_at_rank > 1 then '=' else '' end || r.median_rank end)::text as rank_label,
    (r.is_ranked and r.units_at_rank > 1)::boolean as is_tied,
    r.province_median_rank::integer as province_median_rank,
    r.province_rank_low::integer as province_rank_low,
    r.province_rank_high::integer as province_rank_high,
    (case when r.is_ranked then
        case when r.units_at_province_rank > 1 then '=' else '' end || r.province_median_rank end)::text
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
