-- Every month from the first to the last month a return was sent for (programme_start alone while nothing
-- has been sent), with the calendar and the fiscal year (July to June: fiscal year 2024-25 runs from
-- July 2024 to June 2025 and is numbered 2025, after the June it ends in).
with bounds as (
    select
        coalesce((select min(month) from {{ ref('int_reporting_months') }}),
                 '{{ var("programme_start") }}'::date) as first_month,
        coalesce((select max(month) from {{ ref('int_reporting_months') }}),
                 '{{ var("programme_start") }}'::date) as last_month
),

months as (
    select month::date as month, (month + interval '6 months')::date as fiscal_shifted
    from bounds,
        generate_series(bounds.first_month, bounds.last_month, interval '1 month') as months (month)
)

select
    month::date as month,
    to_char(month, 'YYYY-MM')::text as period,
    extract(year from month)::integer as year,
    extract(quarter from month)::integer as quarter,
    (extract(year from month) || '-Q' || extract(quarter from month))::text as year_quarter,
    extract(month from month)::integer as month_of_year,
    trim(to_char(month, 'Month'))::text as month_name,
    (month + interval '1 month' - interval '1 day')::date as month_end,
    extract(day from month + interval '1 month' - interval '1 day')::integer as days_in_month,
    extract(year from fiscal_shifted)::integer as fiscal_year,
    ((extract(year from fiscal_shifted) - 1) || '-' || to_char(fiscal_shifted, 'YY'))::text as fiscal_year_label,
    extract(quarter from fiscal_shifted)::integer as fiscal_quarter,
    make_date(extract(year from fiscal_shifted)::integer - 1, 7, 1)::date as fiscal_year_start
from months
