with source as (
    select * from {{ source('config', 'config_clients') }}
)

select
    client_id,
    client_name,
    currency,
    timezone,
    locale,
    engagement_start,
    build_fee,
    guarantee_hours,
    baseline_days,
    kpi_baseline_days,
    settle_days,
    cohort_window_days,
    working_hours_start,
    working_hours_end,
    lead_filter_property,
    timesheet_format,
    lower(consultancy_field) as consultancy_field,
    lower(process_field) as process_field,
    lower(phase_field) as phase_field,
    config_sha256
from source
