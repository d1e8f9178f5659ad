-- The intake's warnings on the figures the warehouse uses: the latest accepted version of each
-- province-month, one row per warning that names a unit (definitions in the YAML).
select
    f.province_code::text as province_code,
    f.unit_code::text as unit_code,
    f.month::date as month,
    p.submission_id::bigint as submission_id,
    p.problem_no::integer as problem_no,
    p.rule::text as rule,
    p.field::text as field,
    p.message::text as message
from {{ ref('fct_unit_month') }} as f
inner join {{ ref('stg_audit__problems') }} as p
    on p.submission_id = f.submission_id
    and p.unit_code = f.unit_code
where p.severity = 'warning'
