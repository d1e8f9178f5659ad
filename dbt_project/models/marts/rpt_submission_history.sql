-- Every submission with its verdict, revision place and problem counts, for federal reviewers.
with problems as (
    select
        submission_id,
        count(*) filter (where severity = 'error') as errors_recorded,
        count(*) filter (where severity = 'warning') as warnings_recorded,
        count(distinct rule) as rules_broken
    from {{ ref('stg_audit__problems') }}
    group by submission_id
),

accepted as (
    select
        *,
        lead(submission_id) over (partition by province_code, month order by revision_number)
            as superseded_by_submission_id
    from {{ ref('stg_raw__accepted_submissions') }}
)

select
    s.submission_id::bigint as submission_id,
    s.province_code::text as province_code,
    s.month::date as month,
    s.period::text as period,
    s.version::integer as version,
    s.status::text as status,
    s.received_at::timestamptz as received_at,
    {{ cop_due_at('s.month', 'p.due_day') }}::timestamptz as due_at,
    (s.received_at < {{ cop_due_at('s.month', 'p.due_day') }})::boolean as received_by_due_date,
    s.submitted_by::text as submitted_by,
    s.channel::text as channel,
    s.file_name::text as file_name,
    s.file_size::bigint as file_size,
    s.sha256::text as sha256,
    s.row_count::integer as row_count,
    s.error_count::integer as error_count,
    s.warning_count::integer as warning_count,
    coalesce(pr.errors_recorded, 0)::integer as errors_recorded,
    coalesce(pr.warnings_recorded, 0)::integer as warnings_recorded,
    coalesce(pr.rules_broken, 0)::integer as rules_broken,
    s.duplicate_of::bigint as duplicate_of,
    a.revision_number::integer as revision_number,
    coalesce(a.is_latest, false)::boolean as is_latest_accepted,
    a.superseded_by_submission_id::bigint as superseded_by_submission_id
from {{ ref('stg_raw__submissions') }} as s
inner join {{ ref('stg_raw__provinces') }} as p
    on p.province_code = s.province_code
left join accepted as a
    on a.submission_id = s.submission_id
left join problems as pr
    on pr.submission_id = s.submission_id
