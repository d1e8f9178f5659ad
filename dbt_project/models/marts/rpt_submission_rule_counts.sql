-- Problems found in each submission, counted by rule (codes and titles: spec/form.yaml `rules`).
select
    p.submission_id::bigint as submission_id,
    s.province_code::text as province_code,
    s.month::date as month,
    p.rule::text as rule,
    p.severity::text as severity,
    count(*)::integer as problem_count,
    count(distinct p.source_row)::integer as rows_affected,
    count(distinct p.unit_code)::integer as units_affected
from {{ ref('stg_audit__problems') }} as p
inner join {{ ref('stg_raw__submissions') }} as s
    on s.submission_id = p.submission_id
group by p.submission_id, s.province_code, s.month, p.rule, p.severity
