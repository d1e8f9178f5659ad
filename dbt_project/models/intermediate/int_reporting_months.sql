-- The months the warehouse reports on: from the first to the last month any return was sent for.
select month::date as month
from generate_series(
    (select min(month) from {{ ref('stg_raw__submissions') }}),
    (select max(month) from {{ ref('stg_raw__submissions') }}),
    interval '1 month'
) as months (month)
