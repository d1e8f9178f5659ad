-- Form v2 (spec/form.yaml, `versions`): the versions of the form, each indicator's span, the narratives of the
-- returns and the federal desk's decisions on which stories may be published.

-- The versions of the form and the first month each is in force for (spec/form.yaml, synced like ref_*).
create table if not exists raw.ref_form_versions (
    form_version integer primary key,
    first_month  date not null unique check (extract(day from first_month) = 1)
);

-- Each indicator's span: the form version that introduced it and the last that had it (NULL: still collected).
alter table raw.ref_indicators add column if not exists first_version integer not null default 1;
alter table raw.ref_indicators add column if not exists last_version integer;
delete from raw.ref_fingerprint;  -- re-sync spec/ so the new columns hold each indicator's versions

-- The narratives of a return (achievement, challenge, success story), exactly as the province wrote them:
-- one row per unit and narrative given (an empty cell has no row). Free text, never parsed. personal_data
-- says what the intake's warning W310 saw in it ('a CNIC number', 'a phone number'; loaders/narratives.py).
create table if not exists raw.return_narratives (
    submission_id  bigint not null references raw.submissions (submission_id),
    unit_code      text not null,
    narrative_code text not null,
    text           text not null,
    personal_data  text,
    primary key (submission_id, unit_code, narrative_code)
);

-- The federal desk's decisions on stories from the field: a story (unit, month, kind, and the sha256 of its
-- exact text, so that a revised text needs a new decision) is publishable once its latest decision says so.
-- Append-only like review.actions.
create table if not exists review.story_decisions (
    decision_id    bigint generated always as identity primary key,
    unit_code      text not null,
    period         date not null check (extract(day from period) = 1),
    narrative_code text not null,
    text_sha256    text not null check (text_sha256 ~ '^[0-9a-f]{64}$'),
    publishable    boolean not null,
    actor          text not null,
    at             timestamptz not null default now()
);
create index if not exists story_decisions_story
    on review.story_decisions (unit_code, period, narrative_code, text_sha256, at desc, decision_id desc);

drop trigger if exists story_decisions_append_only on review.story_decisions;
create trigger story_decisions_append_only before update or delete on review.story_decisions
    for each statement execute function review.refuse_change();
drop trigger if exists story_decisions_no_truncate on review.story_decisions;
create trigger story_decisions_no_truncate before truncate on review.story_decisions
    for each statement execute function review.refuse_change();

-- Least privilege (070, 072): the intake appends narratives; the portal and the build read them; the portal
-- appends decisions; the build reads them for the narratives mart.
grant insert on raw.return_narratives to cop_loader;
grant select on raw.return_narratives, raw.ref_form_versions to cop_loader, cop_portal, cop_transform;
grant maintain on raw.return_narratives to cop_transform;
grant select on review.story_decisions to cop_transform, cop_loader, cop_portal;
grant insert on review.story_decisions to cop_portal;
