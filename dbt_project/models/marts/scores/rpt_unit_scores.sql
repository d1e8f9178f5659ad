-- Each unit's indicators of the COP performance index in the latest scoring run of the year: the annual
-- evidence, the raw and shrunk (empirical Bayes) values and the peer-group z-score.
select
    s.year::integer as year,
    s.unit_code::text as unit_code,
    s.province_code::text as province_code,
    s.peer_group::text as peer_group,
    s.pillar::text as pillar,
    s.indicator_code::text as indicator_code,
    s.indicator_label::text as indicator_label,
    s.direction::text as direction,
    s.months_used::integer as months_used,
    s.numerator::numeric as numerator,
    s.exposure::numeric as exposure,
    s.raw_value::numeric as raw_value,
    s.shrunk_value::numeric as shrunk_value,
    s.previous_value::numeric as previous_value,
    s.weight_on_own_data::numeric as weight_on_own_data,
    s.z_score::numeric as z_score,
    s.run_id::bigint as run_id
from {{ source('scores', 'unit_indicator_scores') }} as s
where s.run_id in (select max(run_id) from {{ source('scores', 'runs') }} group by year)
