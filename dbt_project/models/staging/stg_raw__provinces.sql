select
    province_code,
    province_name,
    capital,
    due_day,
    iso_3166_2,
    population_base_year,
    population_growth_percent
from {{ source('raw', 'ref_provinces') }}
