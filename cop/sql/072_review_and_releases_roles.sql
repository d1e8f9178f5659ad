-- The federal review (040) and the releases (041) under least privilege (070):
--   cop_portal     records the federal desk's decisions (approve, return, unlock: the portal and `cop month`)
--                  and reads the month states it shows. It takes the intake's month lock for the instant
--                  of a decision, so that a decision and a new version of the same month never interleave;
--                  readers still cannot take it.
--   cop_transform  freezes releases (`cop release create`, the annual DAG): it owns schema releases, where
--                  each release adds its frozen copy of the marts, and reads review for the completeness mart.
grant usage on schema review to cop_portal;
grant select on all tables in schema review to cop_portal;
grant insert on review.actions to cop_portal;
grant execute on function review.month_states(date, date, timestamptz) to cop_portal;
grant insert, update on raw.intake_month_locks to cop_portal;

alter schema releases owner to cop_transform;
do $$
declare
    item record;
begin
    for item in select tablename from pg_tables where schemaname = 'releases' loop
        execute format('alter table releases.%I owner to cop_transform', item.tablename);
    end loop;
end $$;
alter function releases.refuse_change() owner to cop_transform;

-- The fetch from the provinces' servers (060) is the intake's: its ledger and its looks are cop_loader's
-- to append (and so never taken twice).
grant insert on audit.source_fetches, audit.source_checks to cop_loader;

-- The intake counts every problem of a submission by rule (050): its counts are cop_loader's to append.
grant insert on audit.problem_counts to cop_loader;

-- The portal shows federal reviewers the integrity screen (marts.rpt_integrity_flags_*): it reads marts
-- as the federal BI account does (all provinces, read-only), and nothing else there.
grant cop_marts_reader, cop_all_provinces to cop_portal;
