-- Each province's reporting in a year beside the year before: the shares of station-months received and
-- received on time, their change in percentage points, and the months whose files were all rejected and
-- never resubmitted (reporting_state 'rejected') or for which nothing came (missing).
with years as (
    select
        province_code,
        extract(year from month)::integer as year,
        sum(units_expected) as station_months_expected,
        sum(units_reported) as station_months_received,
        sum(units_on_time) as station_months_on_time,
        sum(units_missing) as station_months_missing,
        count(*) filter (where reporting_state = 'rejected') as months_rejected_not_resubmitted,
        count(*) filter (where reporting_state = 'missing') as months_missing,
        string_agg(to_char(month, 'YYYY-MM'), ', ' order by month)
            filter (where reporting_state = 'rejected') as rejected_months
    from {{ ref('rpt_reporting_completeness') }}
    where reporting_state <> 'not_due'
    group by province_code, extract(year from month)
),

rates as (
    select
        y.*,
        y.station_months_received::numeric / nullif(y.station_months_expected, 0) as reporting_rate,
        y.station_months_on_time::numeric / nullif(y.station_months_expected, 0) as on_time_rate
    from years as y
)

select
    r.province_code::text as province_code,
    r.year::integer as year,
    r.station_months_expected::integer as station_months_expected,
    r.station_months_received::integer as station_months_received,
    r.station_months_on_time::integer as station_months_on_time,
    r.station_months_missing::integer as station_months_missing,
    r.months_rejected_not_resubmitted::integer as months_rejected_not_resubmitted,
    r.rejected_months::text as rejected_months,
    r.months_missing::integer as months_missing,
    r.reporting_rate::numeric as reporting_rate,
    r.on_time_rate::numeric as on_time_rate,
    p.reporting_rate::numeric as previous_reporting_rate,
    p.on_time_rate::numeric as previous_on_time_rate,
    (100 * (r.reporting_rate - p.reporting_rate))::numeric as reporting_rate_change_points,
    (100 * (r.on_time_rate - p.on_time_rate))::numeric as on_time_rate_change_points
from rates as r
left join rates as p
    on p.province_code = r.province_code
    and p.year = r.year - 1
