select
    submission_id,
    province_code,
    period as month,
    to_char(period, 'YYYY-MM') as period,
    version,
    status,
    received_at,
    submitted_by,
    channel,
    file_name,
    file_size,
    sha256,
    row_count,
    error_count,
    warning_count,
    duplicate_of
from {{ source('raw', 'submissions') }}
