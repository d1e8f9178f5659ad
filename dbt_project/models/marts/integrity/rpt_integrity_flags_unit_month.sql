-- The monthly recording-integrity screen: what a national auditor looks for in police data, one row per
-- unit x month x flag, each with its evidence in words. Signals (thresholds: dbt_project.yml, vars
-- integrity_*):
--   fir_collapse        FIRs (the form's crime group) far below what the unit usually records, while its
--                       complaints have not collapsed with them. "Usually" = its median share of the
--                       province's FIRs over the 12 months before, times the province's FIRs this month (so
--                       that the season and the province's trend are not taken for a collapse). Far below =
--                       at most a share of that, and beyond Poisson chance: the deficit in standard
--                       deviations (variance-stabilised, 2 * (sqrt(expected) - sqrt(FIRs + 3/8))) is large
--                       in the month alone, or moderate in this month and the one before or after (a
--                       collapse lasts; a chance dip rarely does twice running)
--   copied_month        every figure equals the unit's previous month (and some are not zero)
--   rounded_figures     every count of 10 or more is a multiple of 10 (at least a few of them)
--   zero_run            every figure zero for several months running
--   constant_reporting  an activity or crime figure (10 or more) identical for several months running
{% set crime_group = var('integrity_crime_group') %}
{% set complaints = var('integrity_complaints_indicator') %}

with values_ as (
    select f.province_code, f.unit_code, f.month, f.indicator_code, f.value, i.indicator_group,
           i.value_type = 'count' as is_count, i.first_version = 1 as is_since_form_v1
    from {{ ref('fct_unit_month_indicator') }} as f
    inner join {{ ref('dim_indicator') }} as i on i.indicator_code = f.indicator_code
    where f.value is not null
),

unit_months as (
    select
        province_code, unit_code, month,
        -- the crime figures collected since form v1, so that FIRs mean the same before and after v2
        coalesce(sum(value) filter (where indicator_group = '{{ crime_group }}' and is_since_form_v1), 0) as firs,
        max(value) filter (where indicator_code = '{{ complaints }}') as complaints,
        count(*) as figures,
        count(*) filter (where value <> 0) as nonzero,
        count(*) filter (where is_count and value >= 10) as large,
        count(*) filter (where is_count and value >= 10 and mod(value, 10) = 0) as large_round,
        md5(string_agg(indicator_code || '=' || value::text, ',' order by indicator_code)) as signature
    from values_
    group by province_code, unit_code, month
),

province_months as (
    select province_code, month, sum(firs) as province_firs, sum(complaints) as province_complaints
    from unit_months
    group by province_code, month
),

shares as (
    select m.*, p.province_firs, p.province_complaints,
           m.firs / nullif(p.province_firs, 0) as firs_share,
           m.complaints / nullif(p.province_complaints, 0) as complaints_share
    from unit_months as m
    inner join province_months as p on p.province_code = m.province_code and p.month = m.month
),

past as (
    select
        m.unit_code, m.month,
        count(p.month) as past_months,
        percentile_cont(0.5) within group (order by p.firs_share) as firs_share_median,
        percentile_cont(0.5) within group (order by p.complaints_share) as complaints_share_median
    from shares as m
    left join shares as p
        on p.unit_code = m.unit_code and p.month >= m.month - interval '12 months' and p.month < m.month
    group by m.unit_code, m.month
),

with_past as (
    select
        m.*,
        lag(m.month) over (partition by m.unit_code order by m.month) as previous_month,
        lag(m.signature) over (partition by m.unit_code order by m.month) as previous_signature,
        p.past_months, p.firs_share_median,
        p.firs_share_median * m.province_firs as firs_expected,
        p.complaints_share_median * m.province_complaints as complaints_expected
    from shares as m
    inner join past as p on p.unit_code = m.unit_code and p.month = m.month
),

fir_deficits as (
    select *,
           past_months >= {{ var('integrity_min_history') }}
           and firs_expected >= {{ var('integrity_collapse_min_firs') }}
           and firs <= {{ var('integrity_collapse_share') }} * firs_expected
           and complaints >= {{ var('integrity_complaints_steady_share') }} * complaints_expected as far_below,
           2 * (sqrt(firs_expected) - sqrt(firs + 0.375)) as deficit_sd
    from with_past
    where firs_expected is not null
),

fir_runs as (
    select *,
           far_below and deficit_sd >= {{ var('integrity_collapse_run_sd') }} as low,
           lag(far_below and deficit_sd >= {{ var('integrity_collapse_run_sd') }}) over unit_series
               and lag(month) over unit_series = month - interval '1 month' as low_before,
           lead(far_below and deficit_sd >= {{ var('integrity_collapse_run_sd') }}) over unit_series
               and lead(month) over unit_series = month + interval '1 month' as low_after
    from fir_deficits
    window unit_series as (partition by unit_code order by month)
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
           'FIRs ' || round(firs)::bigint || ' where about ' || round(firs_expected::numeric, 1) || ' were expected (its usual '
           || round(100 * firs_share_median::numeric, 2) || '% of the province''s FIRs); '
           || round(deficit_sd::numeric, 1) || ' standard deviations below'
           || case when low_before or low_after then ', and low the month ' || case when low_before then 'before'
                   else 'after' end else '' end
           || '; complaints ' || round(complaints)::bigint || ' against about ' || round(complaints_expected::numeric, 1)
           || ' expected' as evidence
    from fir_runs
    where low and (deficit_sd >= {{ var('integrity_collapse_sd') }} or coalesce(low_before, false)
                   or coalesce(low_after, false))

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
