select
    submission_id,
    problem_no,
    severity,
    rule,
    source_row,
    column_name,
    field,
    unit_code,
    value,
    message
from {{ source('audit', 'problems') }}
