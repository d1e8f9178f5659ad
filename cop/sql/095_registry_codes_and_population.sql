-- The registry's provinces for BI (spec/registry/provinces.csv, cop/registry.py): the ISO 3166-2 code that
-- maps and BI tools know, and what the yearly population estimates need (the year the units' populations
-- are for, and the province's annual growth).
alter table raw.ref_provinces
    add column if not exists iso_3166_2 text,
    add column if not exists population_base_year integer,
    add column if not exists population_growth_percent numeric;

delete from raw.ref_fingerprint;  -- sync the new columns from spec/ at the end of this migration
