-- Each indicator's level for the nation and each province, by year and by month, from the latest scoring
-- run of the year, beside the same period a year earlier: the change, and whether it is an improvement.
-- A share's change is in percentage points (change_points); a rate's is relative (change_relative). A
-- context indicator (recorded crime, complaints) has direction 'neutral': its change is published, never
-- called an improvement or a decline.
with levels as (
    select l.*
    from {{ source('scores', 'indicator_levels') }} as l
    where l.run_id in (select max(run_id) from {{ source('scores', 'runs') }} group by year)
)

select
    l.year::integer as year,
    l.area_kind::text as area_kind,
    l.area_code::text as area_code,
    (case when l.area_kind = 'province' then l.area_code end)::text as province_code,
    l.period_kind::text as period_kind,
    l.period::date as period,
    l.indicator_code::text as indicator_code,
    l.indicator_label::text as indicator_label,
    l.pillar::text as pillar,
    l.kind::text as kind,
    l.direction::text as direction,
    (l.kind = 'proportion')::boolean as is_share,
    l.numerator::numeric as numerator,
    l.exposure::numeric as exposure,
    l.value::numeric as value,
    l.units_reporting::integer as units_reporting,
    p.value::numeric as previous_value,
    (l.value - p.value)::numeric as change,
    (case when l.kind = 'proportion' then 100 * (l.value - p.value) end)::numeric as change_points,
    (case when l.kind <> 'proportion' and p.value > 0 then l.value / p.value - 1 end)::numeric as change_relative,
    (case when p.value is null or l.value = p.value or l.direction = 'neutral' then null
          else (l.value > p.value) = (l.direction = 'higher') end)::boolean as improved,
    l.run_id::bigint as run_id
from levels as l
left join levels as p
    on p.run_id = l.run_id
    and p.area_kind = l.area_kind
    and p.area_code = l.area_code
    and p.period_kind = l.period_kind
    and p.indicator_code = l.indicator_code
    and p.period = (l.period - interval '1 year')::date
