-- Every accepted version of each province-month, numbered in the order they replace each other:
-- by version, then arrival, then id (a later accepted file replaces the earlier one as a whole).
with accepted as (
    select *
    from {{ ref('stg_raw__submissions') }}
    where status = 'accepted'
)

select
    submission_id,
    province_code,
    month,
    version,
    received_at,
    row_number() over revisions as revision_number,
    count(*) over province_month as accepted_versions,
    min(received_at) over province_month as first_accepted_at,
    row_number() over revisions = count(*) over province_month as is_latest
from accepted
window
    province_month as (partition by province_code, month),
    revisions as (partition by province_code, month
                  order by version nulls first, received_at, submission_id)
