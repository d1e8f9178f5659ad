-- How each indicator adds up and reads (spec/form.yaml, cop/spec.py AGGREGATIONS and DIRECTIONS): the
-- warehouse's indicator dimension and its metrics follow these, so that a stock is never summed over months
-- and a subset is never added to its whole.
alter table raw.ref_indicators
    add column if not exists aggregation text not null default 'flow'
        check (aggregation in ('flow', 'stock', 'survey', 'median')),
    add column if not exists direction text not null default 'neutral'
        check (direction in ('higher', 'lower', 'neutral')),
    add column if not exists part_of text,
    -- the provinces whose return carries it: a national field unless the province's amendment omits it
    -- (an optional field), a local indicator in its own province only
    add column if not exists collected_by text[] not null default '{}';

delete from raw.ref_fingerprint;  -- sync the new columns from spec/ at the end of this migration
