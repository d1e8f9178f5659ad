-- Every month from the programme start to the last month a return was sent for.
with bounds as (
    select
        '{{ var("programme_start") }}'::date as first_month,
        greatest('{{ var("programme_start") }}'::date,
                 (select max(month) from {{ ref('int_reporting_months') }})) as last_month
)

select
    month::date as month,
    to_char(month, 'YYYY-MM')::text as period,
    extract(year from month)::integer as year,
    extract(quarter from month)::integer as quarter,
    extract(month from month)::integer as month_of_year,
    trim(to_char(month, 'Month'))::text as month_name,
    (month + interval '1 month' - interval '1 day')::date as month_end,
    extract(day from month + interval '1 month' - interval '1 day')::integer as days_in_month
from bounds,
    generate_series(bounds.first_month, bounds.last_month, interval '1 month') as months (month)
