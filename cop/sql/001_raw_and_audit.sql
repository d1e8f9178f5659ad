-- Landing tables of the warehouse. raw is append-only: nothing here is ever
-- updated in place except a submission's own bookkeeping columns.

create schema if not exists raw;
create schema if not exists audit;

-- Reference data, synced from spec/ by cop.reference.sync_reference().
create table if not exists raw.ref_provinces (
    province_code text primary key,
    province_name text not null,
    capital       text not null,
    due_day       integer not null check (due_day between 1 and 28)
);

create table if not exists raw.ref_districts (
    province_code text not null,
    district_code text not null,
    district_name text not null,
    primary key (province_code, district_code)
);

-- One row per version of a unit (a unit that moved district has two).
create table if not exists raw.ref_units (
    unit_code     text not null,
    valid_from    date not null,
    valid_to      date,
    unit_name     text not null,
    province_code text not null,
    district_code text not null,
    urban_rural   text not null check (urban_rural in ('urban', 'rural')),
    population    integer not null check (population > 0),
    opened_on     date not null,
    closed_on     date,
    primary key (unit_code, valid_from)
);

-- Every indicator of the form: national ones (province_code null) and each
-- province's local ones.
create table if not exists raw.ref_indicators (
    indicator_code  text primary key,
    province_code   text,
    indicator_group text not null,
    value_type      text not null check (value_type in ('count', 'decimal')),
    unit_of_measure text not null,
    is_required     boolean not null,
    max_value       numeric not null,
    label           text not null,
    help_text       text not null,
    position        integer not null
);

-- Every file received, whatever its verdict.
create table if not exists raw.submissions (
    submission_id  bigint generated always as identity primary key,
    province_code  text not null,
    period         date not null check (extract(day from period) = 1),
    version        integer,
    status         text not null check (status in ('accepted', 'rejected', 'duplicate')),
    received_at    timestamptz not null,
    submitted_by   text not null,
    channel        text not null default 'cli',
    file_name      text not null,
    file_size      bigint not null,
    sha256         text not null check (sha256 ~ '^[0-9a-f]{64}$'),
    landed_path    text not null,
    row_count      integer,
    error_count    integer not null default 0,
    warning_count  integer not null default 0,
    duplicate_of   bigint references raw.submissions (submission_id),
    created_at     timestamptz not null default now()
);
create index if not exists submissions_province_period on raw.submissions (province_code, period, version);
create index if not exists submissions_sha256 on raw.submissions (sha256);

-- The accepted rows: one per unit per accepted submission...
create table if not exists raw.return_rows (
    submission_id bigint not null references raw.submissions (submission_id),
    source_row    integer not null,
    province_code text not null,
    district_code text not null,
    unit_code     text not null,
    period        date not null,
    primary key (submission_id, unit_code)
);

-- ...and their values, long: one per unit, indicator (national or local).
-- A NULL value is an explicit "unknown"; a province that leaves an optional
-- column out has no row for it. Neither is ever a zero.
create table if not exists raw.return_values (
    submission_id  bigint not null references raw.submissions (submission_id),
    unit_code      text not null,
    indicator_code text not null,
    value          numeric,
    primary key (submission_id, unit_code, indicator_code)
);

-- Every problem found in a submission (errors and warnings).
create table if not exists audit.problems (
    submission_id bigint not null references raw.submissions (submission_id),
    problem_no    integer not null,
    severity      text not null check (severity in ('error', 'warning')),
    rule          text not null,
    source_row    integer,
    column_name   text,
    field         text,
    unit_code     text,
    value         text,
    message       text not null,
    primary key (submission_id, problem_no)
);

-- Fingerprint of spec/ at the last reference sync.
create table if not exists raw.ref_fingerprint (fingerprint text not null);
