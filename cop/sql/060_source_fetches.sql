-- Pulling returns from the provinces' own servers (hub/fetch.py).
--
-- The ledger: every remote file the hub has looked at closely, with what it was (size, modification
-- time, HTTP validators, sha256) and what became of it. A file whose path, size and time are in the
-- ledger is never taken again; a file whose bytes changed upstream is taken again and becomes the
-- next version of its month through the intake.
create table if not exists audit.source_fetches (
    fetch_id       bigserial primary key,
    province_code  text not null,
    channel        text not null check (channel in ('sftp', 'https')),
    remote_path    text not null,
    period         date not null,
    size_bytes     bigint,
    modified_at    timestamptz,
    etag           text,
    sha256         text,
    status         text not null check (status in ('submitted', 'unchanged', 'refused')),
    submission_id  bigint references raw.submissions (submission_id),
    note           text,
    fetched_at     timestamptz not null default now()
);
create index if not exists source_fetches_path on audit.source_fetches (province_code, remote_path, fetch_id desc);

-- Every look at a province's source (reachable or not, and what it said): `cop sources` shows the
-- last one and the deadline reminders tell "source unreachable" from "nothing published yet" by it.
create table if not exists audit.source_checks (
    check_id       bigserial primary key,
    province_code  text not null,
    channel        text not null,
    checked_at     timestamptz not null default now(),
    state          text not null,
    failure_kind   text,
    message        text not null,
    periods        text[] not null,
    run_id         text
);
create index if not exists source_checks_latest on audit.source_checks (province_code, check_id desc);
