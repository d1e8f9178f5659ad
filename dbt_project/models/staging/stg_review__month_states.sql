-- The state of every province-month from the first to the last month any return was sent for, as of the
-- build: review.month_states (cop/sql/040_review.sql) is the one definition of reporting status (on time,
-- late, rejected, missing, not yet due), review status (awaiting, received, approved, returned) and lock,
-- shared with the intake, the portal and the deadline reminders.
-- depends_on: {{ source('review', 'actions') }}
select
    s.province_code,
    s.period as month,
    s.reporting_state,
    s.review_state,
    s.is_locked,
    s.lock_at,
    s.current_submission_id
from review.month_states(
    (select min(period) from {{ source('raw', 'submissions') }}),
    (select max(period) from {{ source('raw', 'submissions') }}),
    now()
) as s
