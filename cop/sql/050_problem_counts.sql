-- Bounded problem details: every problem of a submission is counted here, by rule, while
-- audit.problems keeps only the first `limits.max_stored_problems_per_rule` (spec/form.yaml) of each
-- rule, the worst first. A file where every cell is wrong gets its complete counts and a bounded list.
create table if not exists audit.problem_counts (
    submission_id bigint not null references raw.submissions (submission_id),
    rule          text not null,
    severity      text not null check (severity in ('error', 'warning')),
    total         integer not null check (total > 0),
    stored        integer not null check (stored between 0 and total),
    primary key (submission_id, rule)
);

-- How far out a problem is (bigger = worse; W301: -log10 of the value's tail probability): it orders a
-- rule's examples, worst first.
alter table audit.problems add column if not exists score real;

-- Submissions registered before this migration stored every problem: their counts are their details.
insert into audit.problem_counts (submission_id, rule, severity, total, stored)
select submission_id, rule, min(severity), count(*), count(*)
from audit.problems
group by submission_id, rule
on conflict do nothing;
