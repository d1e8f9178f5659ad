-- fct_unit_month (wide) and fct_unit_month_indicator (long) hold the same figures:
-- per indicator, the same number of known values and the same sum.
-- depends_on: {{ source('raw', 'ref_indicators') }}, {{ ref('fct_unit_month') }}
{%- set indicators = cop_national_indicators() %}
with long_totals as (
    select indicator_code, count(value) as known_values, sum(value) as total
    from {{ ref('fct_unit_month_indicator') }}
    group by indicator_code
),

wide_totals as (
    {%- for indicator in indicators %}
    select '{{ indicator }}' as indicator_code, count({{ adapter.quote(indicator) }}) as known_values,
        sum({{ adapter.quote(indicator) }}) as total
    from {{ ref('fct_unit_month') }}
    {{ 'union all' if not loop.last }}
    {%- endfor %}
    {%- if not indicators %}
    select null::text as indicator_code, 0::bigint as known_values, null::numeric as total where false
    {%- endif %}
)

select w.indicator_code, w.known_values, l.known_values as long_known_values, w.total, l.total as long_total
from wide_totals as w
left join long_totals as l
    on l.indicator_code = w.indicator_code
where coalesce(l.known_values, 0) <> w.known_values
    or w.total is distinct from l.total
