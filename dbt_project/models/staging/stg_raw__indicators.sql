select
    indicator_code,
    province_code,
    province_code is not null as is_local,
    indicator_group,
    value_type,
    unit_of_measure,
    is_required,
    max_value,
    label,
    help_text,
    position,
    first_version,
    last_version
from {{ source('raw', 'ref_indicators') }}
