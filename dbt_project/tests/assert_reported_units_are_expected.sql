-- Every unit in the latest accepted version of a province-month is a unit the registry expected
-- that month, in that province (the intake refuses the others, E030-E033). Otherwise the unit's
-- figures could not be placed in a district and completeness would not add up.
select r.province_code, r.month, r.unit_code
from {{ ref('stg_raw__return_rows') }} as r
left join {{ ref('int_unit_months_expected') }} as e
    on e.unit_code = r.unit_code
    and e.month = r.month
    and e.province_code = r.province_code
where r.is_latest
    and e.unit_code is null
