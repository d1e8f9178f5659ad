-- The integrity screen by unit and year: how many months each flag was raised, and whether the year's
-- figures are in serious doubt (rankings hold back a unit's award on a serious flag).
select
    province_code::text as province_code,
    unit_code::text as unit_code,
    extract(year from month)::integer as year,
    flag::text as flag,
    count(*)::integer as months_flagged,
    min(month)::date as first_month,
    max(month)::date as last_month,
    (count(*) >= case flag
        when 'copied_month' then {{ var('integrity_serious_copied_months') }}
        when 'rounded_figures' then {{ var('integrity_serious_rounded_months') }}
        else 1 end)::boolean as is_serious,
    (string_agg(to_char(month, 'YYYY-MM') || ': ' || evidence, ' | ' order by month))::text as evidence
from {{ ref('rpt_integrity_flags_unit_month') }}
group by province_code, unit_code, extract(year from month), flag
