-- The versions of the form with the months each is in force for (last_month NULL: the version in force now).
select
    form_version,
    first_month,
    (lead(first_month) over (order by form_version) - interval '1 month')::date as last_month
from {{ source('raw', 'ref_form_versions') }}
