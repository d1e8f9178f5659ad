-- Federal review of each province-month: approval, return with a reason, locked periods and unlocks.
--
-- review.actions is the audit log of every decision on a province-month (who, when, why): append-only,
-- enforced by a trigger. review.month_states() is THE definition of a province-month's state, read by
-- the intake (refusing revisions of locked months), the portal, the deadline reminders and the
-- warehouse (marts.rpt_reporting_completeness), so they can never disagree:
--
--   reporting_state  on_time | late      an accepted version came before / after the due date (its first one)
--                    rejected           files came, none accepted
--                    missing | not_due  nothing accepted and the due date has / has not passed
--   review_state     awaiting           nothing accepted yet
--                    received           the current (latest accepted) version awaits the federal desk
--                    approved | returned the federal desk's latest decision on the current version
--   is_locked        the month has a current version, is not returned, and is approved or past its lock
--                    date (due date + lock_after_days, spec/form.yaml or the province's amendment),
--                    and no unlock granted since the last approval is running.
-- A month with nothing accepted is never locked: a late first return is taken (and counted late).
-- A returned month stays open until the province resubmits, whatever its lock date.

alter table raw.ref_provinces add column if not exists lock_after_days integer not null default 60
    check (lock_after_days >= 0);
delete from raw.ref_fingerprint;  -- re-sync spec/ so the column holds each province's own value

create schema if not exists review;
revoke all on schema review from public;

create table if not exists review.actions (
    action_id      bigint generated always as identity primary key,
    province_code  text not null,
    period         date not null check (extract(day from period) = 1),
    action         text not null check (action in ('approve', 'return', 'unlock', 'refuse_revision')),
    submission_id  bigint references raw.submissions (submission_id),
    actor          text not null,
    reason         text,
    at             timestamptz not null default now(),
    unlocked_until timestamptz,
    check (action not in ('return', 'unlock') or coalesce(btrim(reason), '') <> ''),
    check ((action = 'unlock') = (unlocked_until is not null)),
    check (action not in ('approve', 'return') or submission_id is not null)
);
create index if not exists actions_month on review.actions (province_code, period, at desc, action_id desc);

create or replace function review.refuse_change() returns trigger
language plpgsql as $$
begin
    raise exception 'review.actions is an audit log: its rows are never changed or deleted';
end $$;

drop trigger if exists actions_append_only on review.actions;
-- Per statement, not per row: an UPDATE or DELETE is refused even when it matches no row yet.
create trigger actions_append_only before update or delete on review.actions
    for each statement execute function review.refuse_change();
drop trigger if exists actions_no_truncate on review.actions;
create trigger actions_no_truncate before truncate on review.actions
    for each statement execute function review.refuse_change();

create or replace function review.month_states(p_first date, p_last date, p_at timestamptz default now())
returns table (
    province_code text, period date, due_at timestamptz, lock_at timestamptz,
    files bigint, accepted_versions bigint, rejected_files bigint, duplicate_files bigint,
    first_accepted_at timestamptz, last_submission_id bigint, current_submission_id bigint,
    current_version integer, reporting_state text, review_state text, is_locked boolean, lock_reason text,
    unlocked_until timestamptz, last_action text, last_actor text, last_reason text, last_action_at timestamptz)
language sql stable as $$
with months as (
    select generate_series(p_first, p_last, interval '1 month')::date as period
),
province_months as (
    select p.province_code, m.period, p.lock_after_days,
           ((m.period + interval '1 month' + p.due_day * interval '1 day')::timestamp
               at time zone 'Asia/Karachi') as due_at
    from raw.ref_provinces p cross join months m
),
files as (
    select s.province_code, s.period,
           count(*) as files,
           count(*) filter (where s.status = 'accepted') as accepted_versions,
           count(*) filter (where s.status = 'rejected') as rejected_files,
           count(*) filter (where s.status = 'duplicate') as duplicate_files,
           min(s.received_at) filter (where s.status = 'accepted') as first_accepted_at,
           max(s.submission_id) as last_submission_id
    from raw.submissions s
    where s.period between p_first and p_last and s.received_at <= p_at
    group by s.province_code, s.period
),
current_version as (
    select distinct on (s.province_code, s.period) s.province_code, s.period, s.submission_id, s.version
    from raw.submissions s
    where s.status = 'accepted' and s.period between p_first and p_last and s.received_at <= p_at
    order by s.province_code, s.period, s.version desc, s.submission_id desc
),
actions as (
    select a.* from review.actions a where a.period between p_first and p_last and a.at <= p_at
),
verdict as (
    select distinct on (a.province_code, a.period) a.province_code, a.period, a.action, a.at
    from actions a join current_version c on c.submission_id = a.submission_id
    where a.action in ('approve', 'return')
    order by a.province_code, a.period, a.at desc, a.action_id desc
),
last_unlock as (
    select distinct on (a.province_code, a.period) a.province_code, a.period, a.at, a.unlocked_until
    from actions a where a.action = 'unlock'
    order by a.province_code, a.period, a.at desc, a.action_id desc
),
last_approval as (
    select a.province_code, a.period, max(a.at) as at from actions a where a.action = 'approve'
    group by a.province_code, a.period
),
last_decision as (
    select distinct on (a.province_code, a.period) a.province_code, a.period, a.action, a.actor, a.reason, a.at
    from actions a where a.action in ('approve', 'return', 'unlock')
    order by a.province_code, a.period, a.at desc, a.action_id desc
),
judged as (
    select pm.*, f.files, f.accepted_versions, f.rejected_files, f.duplicate_files, f.first_accepted_at,
           f.last_submission_id, c.submission_id as current_submission_id, c.version as current_version,
           pm.due_at + pm.lock_after_days * interval '1 day' as lock_at,
           case
               when c.submission_id is null then 'awaiting'
               when v.action = 'approve' then 'approved'
               when v.action = 'return' then 'returned'
               else 'received'
           end as review_state,
           case when u.unlocked_until > p_at and (ap.at is null or ap.at < u.at) then u.unlocked_until end
               as unlocked_until,
           d.action as last_action, d.actor as last_actor, d.reason as last_reason, d.at as last_action_at
    from province_months pm
    left join files f on f.province_code = pm.province_code and f.period = pm.period
    left join current_version c on c.province_code = pm.province_code and c.period = pm.period
    left join verdict v on v.province_code = pm.province_code and v.period = pm.period
    left join last_unlock u on u.province_code = pm.province_code and u.period = pm.period
    left join last_approval ap on ap.province_code = pm.province_code and ap.period = pm.period
    left join last_decision d on d.province_code = pm.province_code and d.period = pm.period
),
locked as (
    select j.*,
           case
               when j.review_state in ('awaiting', 'returned') or j.unlocked_until is not null then null
               when j.review_state = 'approved' then 'approved'
               when p_at >= j.lock_at then 'lock date passed'
           end as lock_reason
    from judged j
)
select l.province_code, l.period, l.due_at, l.lock_at,
       coalesce(l.files, 0), coalesce(l.accepted_versions, 0), coalesce(l.rejected_files, 0),
       coalesce(l.duplicate_files, 0), l.first_accepted_at, l.last_submission_id, l.current_submission_id,
       l.current_version,
       case
           when l.accepted_versions > 0 then case when l.first_accepted_at < l.due_at then 'on_time' else 'late' end
           when l.rejected_files > 0 then 'rejected'
           when p_at < l.due_at then 'not_due'
           else 'missing'
       end,
       l.review_state, l.lock_reason is not null, l.lock_reason, l.unlocked_until,
       l.last_action, l.last_actor, l.last_reason, l.last_action_at
from locked l
order by l.province_code, l.period
$$;

-- Everything that happened to a province-month, oldest first: each file received (and its verdict)
-- and each decision of the federal desk, with who and why.
create or replace view review.month_log as
select s.province_code, s.period, s.received_at as at, s.submitted_by as actor,
       'submission ' || s.status as event, s.submission_id, s.version, s.file_name as detail, null::timestamptz
           as unlocked_until
from raw.submissions s
union all
select a.province_code, a.period, a.at, a.actor, a.action, a.submission_id, null, a.reason, a.unlocked_until
from review.actions a;

-- dbt (cop_transform) builds the completeness mart from month_states; the loader (intake) records refusals.
grant usage on schema review to cop_transform, cop_loader;
grant select on all tables in schema review to cop_transform, cop_loader;
grant insert on review.actions to cop_loader;
grant execute on function review.month_states(date, date, timestamptz) to cop_transform, cop_loader;
