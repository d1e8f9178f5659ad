-- Sign-in limits that hold under parallel attempts (portal/accounts.py): one counter row per account
-- (the username as typed, known or not) and one per client address, kept apart. An attempt is charged
-- to both rows, under their row locks, before the password is checked, and refused if either is at its
-- limit; a success gives the charge back. So parallel attempts cannot exceed a limit, an address over
-- its limit is throttled without touching anyone's account, and an account over its limit is locked
-- (with a backoff that doubles) whatever the address.

create table if not exists portal.sign_in_limits (
    scope             text not null check (scope in ('account', 'address')),
    key               text not null,
    failures          integer not null default 0,   -- in the current window, attempts in flight included
    window_started_at timestamptz not null default now(),
    locked_until      timestamptz,
    lockouts          integer not null default 0,   -- consecutive lockouts: the next one lasts twice as long
    primary key (scope, key)
);

grant select, insert, update, delete on portal.sign_in_limits to cop_portal;
