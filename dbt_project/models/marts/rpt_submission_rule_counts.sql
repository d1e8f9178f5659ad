-- Problems found in each submission, counted by rule (codes and titles: spec/form.yaml `rules`). The count
-- is every problem (audit.problem_counts); rows and units affected are among the details kept (at most
-- outputs.max_stored_problems_per_rule of each rule).
with details as (
    select submission_id, rule,
           count(distinct source_row) as rows_affected, count(distinct unit_code) as units_affected
    from {{ ref('stg_audit__problems') }}
    group by submission_id, rule
)

select
    c.submission_id::bigint as submission_id,
    s.province_code::text as province_code,
    s.month::date as month,
    c.rule::text as rule,
    c.severity::text as severity,
    c.total::integer as problem_count,
    coalesce(d.rows_affected, 0)::integer as rows_affected,
    coalesce(d.units_affected, 0)::integer as units_affected
from {{ source('audit', 'problem_counts') }} as c
inner join {{ ref('stg_raw__submissions') }} as s
    on s.submission_id = c.submission_id
left join details as d
    on d.submission_id = c.submission_id and d.rule = c.rule
