-- Every day of the months in dim_month: the semantic layer's time spine (MetricFlow needs one by day),
-- with the fiscal year (July to June) each day belongs to.
select
    day::date as date_day,
    date_trunc('month', day)::date as month,
    make_date(extract(year from day + interval '6 months')::integer - 1, 7, 1)::date as fiscal_year_start
from generate_series(
    (select min(month) from {{ ref('dim_month') }}),
    (select max(month_end) from {{ ref('dim_month') }}),
    interval '1 day'
) as days (day)
