select
    unit_code || '@' || to_char(valid_from, 'YYYY-MM-DD') as unit_version_key,
    unit_code,
    valid_from,
    valid_to,
    unit_name,
    province_code,
    district_code,
    province_code || '-' || district_code as district_key,
    urban_rural,
    population,
    opened_on,
    closed_on
from {{ source('raw', 'ref_units') }}
