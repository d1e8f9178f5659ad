select
    unit_version_key::text as unit_version_key,
    unit_code::text as unit_code,
    unit_name::text as unit_name,
    province_code::text as province_code,
    district_code::text as district_code,
    district_key::text as district_key,
    urban_rural::text as urban_rural,
    population::integer as population,
    opened_on::date as opened_on,
    closed_on::date as closed_on,
    valid_from::date as valid_from,
    valid_to::date as valid_to,
    (valid_to is null)::boolean as is_current_version
from {{ ref('stg_raw__units') }}
