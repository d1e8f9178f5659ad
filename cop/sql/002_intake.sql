-- The intake engine (loaders/): every non-duplicate submission of a (province,
-- month) gets the next version number, assigned under an advisory lock; this
-- index makes a second holder of the same number impossible even so.
create unique index if not exists submissions_version_unique
    on raw.submissions (province_code, period, version) where version is not null;

-- "The latest accepted version of each month" is what the warehouse reads and
-- what history warnings compare against.
create index if not exists submissions_accepted
    on raw.submissions (province_code, period, version desc) where status = 'accepted';
