select
    province_code::text as province_code,
    province_name::text as province_name,
    capital::text as capital,
    due_day::integer as due_day
from {{ ref('stg_raw__provinces') }}
