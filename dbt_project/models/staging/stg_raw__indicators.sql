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
    last_version,
    aggregation,
    direction,
    part_of,
    array_to_string(collected_by, ', ') as collected_by  -- text: dbt unit tests cannot mock an array column
from {{ source('raw', 'ref_indicators') }}
