-- Provincial (local) indicators never enter the national facts.
select f.indicator_code
from {{ ref('fct_unit_month_indicator') }} as f
inner join {{ ref('stg_raw__indicators') }} as i
    on i.indicator_code = f.indicator_code
where i.is_local
