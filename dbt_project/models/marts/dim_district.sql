select
    district_key::text as district_key,
    province_code::text as province_code,
    district_code::text as district_code,
    district_name::text as district_name
from {{ ref('stg_raw__districts') }}
