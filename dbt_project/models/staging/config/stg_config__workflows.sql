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
    {{ process_key('process') }} as process_key,
    go_live as go_live_date,
    status as workflow_status,
    retired_on as retired_on_date,
    runs_daily as is_daily,
    baseline_method as configured_baseline_method,
    volume_object,
    volume_direction,
    volume_timestamp_property,
    baseline_days,
    declared_source,
    human_approval as has_human_approval,
    llm_vendor,
    llm_model,
    last_review as last_review_date,
    coalesce(review_every_months, 12) as review_every_months,
    paused_on as paused_on_date
from source
