-- Completeness of each national indicator per province and month, telling apart what the form did not ask
-- for from what a province did not send (definitions in the model's YAML).
with sent as (
    select
        province_code,
        month,
        indicator_code,
        count(*) as units_with_cell,
        count(value) as units_with_value
    from {{ ref('stg_raw__return_values') }}
    group by province_code, month, indicator_code
)

select
    c.province_code::text as province_code,
    c.month::date as month,
    i.indicator_code::text as indicator_code,
    (case
        when c.month < i.first_month or c.month > coalesce(i.last_month, c.month) then 'not_collected'
        when c.latest_submission_id is null then 'not_reported'
        when s.indicator_code is null then 'not_in_return'
        else 'reported'
    end)::text as collection_state,
    c.units_expected::integer as units_expected,
    coalesce(s.units_with_value, 0)::integer as units_with_value,
    coalesce(s.units_with_cell - s.units_with_value, 0)::integer as units_unknown
from {{ ref('rpt_reporting_completeness') }} as c
cross join {{ ref('dim_indicator') }} as i
left join sent as s
    on s.province_code = c.province_code
    and s.month = c.month
    and s.indicator_code = i.indicator_code
where i.scope = 'national'
