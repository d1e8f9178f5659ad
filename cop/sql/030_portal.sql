-- The province portal (portal/): its accounts, sign-in sessions, sign-in attempts (rate limiting),
-- the "check only" runs it has shown, and the audit log of every sign-in, upload and refusal.
-- Only the portal (as the warehouse owner) reads or writes this schema: no reader role is granted it.

create schema if not exists portal;
revoke all on schema portal from public;

create table if not exists portal.users (
    username      text primary key check (username ~ '^[a-z0-9][a-z0-9._-]{1,62}$'),
    display_name  text not null,
    role          text not null check (role in ('province', 'federal')),
    province_code text,  -- checked against the registry by portal.accounts (raw.ref_* is re-synced by truncate)
    password_hash text not null check (password_hash like '$argon2id$%'),
    created_at    timestamptz not null default now(),
    disabled      boolean not null default false,
    -- A province user belongs to exactly one province; a federal reviewer to none.
    check ((role = 'province') = (province_code is not null))
);

-- One row per signed-in browser. The cookie carries a random token; only its sha256 is stored,
-- so a copy of this table cannot be used to take over a session.
create table if not exists portal.sessions (
    token_sha256  text primary key,
    username      text not null references portal.users (username),
    csrf_token    text not null,
    ip            text,
    created_at    timestamptz not null default now(),
    last_seen_at  timestamptz not null default now(),
    expires_at    timestamptz not null
);
create index if not exists sessions_username on portal.sessions (username);

-- Every sign-in attempt (the username as typed, even when no such user exists): the rate limit counts
-- recent failures per username+IP and per IP.
create table if not exists portal.login_attempts (
    at        timestamptz not null default now(),
    username  text not null,
    ip        text not null,
    success   boolean not null
);
create index if not exists login_attempts_user_ip on portal.login_attempts (username, ip, at desc);
create index if not exists login_attempts_ip on portal.login_attempts (ip, at desc);

-- A "check only" upload saves nothing in raw; its problem files and report live in a folder the
-- intake chose (COP_HOME/validation/dry-run-*). This row ties that folder to the province that ran
-- the check, so the files are served only to it, by id, never by a path from a request.
create table if not exists portal.checks (
    check_id      uuid primary key,
    username      text not null references portal.users (username),
    province_code text not null,
    period        date not null,
    file_name     text not null,
    status        text not null,
    folder        text not null,
    receipt       jsonb not null,
    created_at    timestamptz not null default now()
);

create table if not exists portal.audit_log (
    audit_id  bigint generated always as identity primary key,
    at        timestamptz not null default now(),
    username  text,
    action    text not null,
    detail    jsonb not null default '{}'::jsonb,
    ip        text
);
create index if not exists audit_log_at on portal.audit_log (at desc);
