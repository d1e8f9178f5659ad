-- The monthly recording-integrity screen: what a national auditor looks for in police data, one row per
-- unit x month x flag, each with its evidence in words. Signals (thresholds: dbt_project.yml, vars
-- integrity_*):
--   fir_collapse        FIRs (the form's crime group) fall below a share of the unit's median of the 12
--                       months before, and more than 3 Poisson standard deviations below it, while its
--                       complaints stay at least near their own median
--   copied_month        every figure equals the unit's previous month (and some are not zero)
--   rounded_figures     every count of 10 or more is a multiple of 10 (at least a few of them)
--   zero_run            every figure zero for several months running
--   constant_reporting  an activity or crime figure (10 or more) identical for several months running
{% set crime_group = var('integrity_crime_group') %}
{% set complaints = var('integrity_complaints_indicator') %}

with values_ as (
    select f.province_code, f.unit_code, f.month, f.indicator_code, f.value, i.indicator_group,
           i.value_type = 'count' as is_count
    from {{ ref('fct_unit_month_indicator') }} as f
    inner join {{ ref('dim_indicator') }} as i on i.indicator_code = f.indicator_code
    where f.value is not null
),

unit_months as (
    select
        province_code, unit_code, month,
        coalesce(sum(value) filter (where indicator_group = '{{ crime_group }}'), 0) as firs,
        max(value) filter (where indicator_code = '{{ complaints }}') as complaints,
        count(*) as figures,
        count(*) filter (where value <> 0) as nonzero,
        count(*) filter (where is_count and value >= 10) as large,
        count(*) filter (where is_count and value >= 10 and mod(value, 10) = 0) as large_round,
        md5(string_agg(indicator_code || '=' || value::text, ',' order by indicator_code)) as signature
    from values_
    group by province_code, unit_code, month
),

past as (
    select
        m.unit_code, m.month,
        count(p.month) as past_months,
        percentile_cont(0.5) within group (order by p.firs) as firs_median,
        percentile_cont(0.5) within group (order by p.complaints) as complaints_median
    from unit_months as m
    left join unit_months as p
        on p.unit_code = m.unit_code and p.month >= m.month - interval '12 months' and p.month < m.month
    group by m.unit_code, m.month
),

with_past as (
    select
        m.*,
        lag(m.month) over (partition by m.unit_code order by m.month) as previous_month,
        lag(m.signature) over (partition by m.unit_code order by m.month) as previous_signature,
        p.past_months, p.firs_median, p.complaints_median
    from unit_months as m
    inner join past as p on p.unit_code = m.unit_code and p.month = m.month
),

zero_runs as (
    select
        province_code, unit_code, month,
        count(*) over (partition by unit_code, run order by month) as run_length,
        min(month) over (partition by unit_code, run) as run_start
    from (
        select *, sum(case when not starts then 0 else 1 end) over (partition by unit_code order by month) as run
        from (
            select *, (nonzero > 0 or lag(nonzero) over (partition by unit_code order by month) is distinct from 0
                       or lag(month) over (partition by unit_code order by month) <> month - interval '1 month'
                      ) as starts
            from unit_months
        ) as marked
    ) as runs
    where nonzero = 0
),

constant_figures as (
    select province_code, unit_code, month, indicator_code, value, run_length
    from (
        select *, count(*) over (partition by unit_code, indicator_code, run order by month) as run_length
        from (
            select *, sum(case when same then 0 else 1 end)
                          over (partition by unit_code, indicator_code order by month) as run
            from (
                select *, (value = lag(value) over series
                           and lag(month) over series = month - interval '1 month') as same
                from values_
                where indicator_group in ({{ "'" ~ var('integrity_activity_groups') | join("', '") ~ "'" }})
                  and value >= 10
                window series as (partition by unit_code, indicator_code order by month)
            ) as marked
        ) as runs
    ) as counted
    where run_length >= {{ var('integrity_constant_months') }}
),

flags as (
    select province_code, unit_code, month, 'fir_collapse' as flag,
           'FIRs ' || firs || ' against a median of ' || round(firs_median::numeric, 1) || ' over the '
           || past_months || ' months before (' || round(100 * firs / firs_median::numeric) || '%); complaints '
           || complaints || ' against a median of ' || round(complaints_median::numeric, 1) as evidence
    from with_past
    where past_months >= {{ var('integrity_min_history') }}
      and firs_median >= {{ var('integrity_collapse_min_firs') }}
      and firs <= {{ var('integrity_collapse_share') }} * firs_median
      -- and beyond chance for a count of that size (Poisson: more than 3 standard deviations below)
      and firs <= firs_median - 3 * sqrt(firs_median)
      and complaints >= {{ var('integrity_complaints_steady_share') }} * complaints_median

    union all
    select province_code, unit_code, month, 'copied_month',
           'every figure (' || figures || ') equals the return for ' || to_char(previous_month, 'YYYY-MM')
    from with_past
    where signature = previous_signature and previous_month = month - interval '1 month'
      and nonzero >= {{ var('integrity_copied_min_nonzero') }}

    union all
    select province_code, unit_code, month, 'rounded_figures',
           'all ' || large || ' figures of 10 or more are multiples of 10'
    from unit_months
    where large >= {{ var('integrity_rounded_min_figures') }} and large_round = large

    union all
    select province_code, unit_code, month, 'zero_run',
           'every figure zero for ' || run_length || ' months running, since ' || to_char(run_start, 'YYYY-MM')
    from zero_runs
    where run_length >= {{ var('integrity_zero_run_months') }}

    union all
    select province_code, unit_code, month, 'constant_reporting',
           string_agg(indicator_code || ' = ' || value || ' for ' || run_length || ' months running', '; '
                      order by indicator_code)
    from constant_figures
    group by province_code, unit_code, month
)

select
    province_code::text as province_code,
    unit_code::text as unit_code,
    month::date as month,
    flag::text as flag,
    evidence::text as evidence
from flags
