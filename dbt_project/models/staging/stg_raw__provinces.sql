select
    province_code,
    province_name,
    capital,
    due_day
from {{ source('raw', 'ref_provinces') }}
