select
    province_code || '-' || district_code as district_key,
    province_code,
    district_code,
    district_name
from {{ source('raw', 'ref_districts') }}
