with source as (
    select * from {{ source('config', 'config_workflows') }}
)

select
    client_id,
    workflow_key,
    workflow_name,
    platform,
    owner as workflow_owner,
    risk_class,
    process as process_name,
    process_key,
    go_live as go_live_date,
    status as workflow_status,
    retired_on as retired_on_date,
    runs_daily as is_daily,
    baseline_method as configured_baseline_method,
    volume_object,
    volume_direction,
    volume_timestamp_property,
    baseline_days,
    declared_source
from source
