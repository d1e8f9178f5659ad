-- How many months each unit reported in each year, of the months it was expected to.
select
    unit_code::text as unit_code,
    extract(year from month)::integer as year,
    (array_agg(province_code order by month desc))[1]::text as province_code,
    (array_agg(district_key order by month desc))[1]::text as district_key,
    count(*)::integer as months_expected,
    count(*) filter (where is_reported)::integer as months_reported,
    count(*) filter (where reporting_status = 'on_time')::integer as months_on_time,
    count(*) filter (where reporting_status = 'late')::integer as months_late,
    count(*) filter (where reporting_status = 'missing')::integer as months_missing
from {{ ref('int_unit_month_reporting') }}
group by unit_code, extract(year from month)
