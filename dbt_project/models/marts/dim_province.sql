select
    province_code::text as province_code,
    province_name::text as province_name,
    capital::text as capital,
    due_day::integer as due_day,
    iso_3166_2::text as iso_3166_2,
    population_base_year::integer as population_base_year,
    population_growth_percent::numeric(5, 2) as population_growth_percent
from {{ ref('stg_raw__provinces') }}
