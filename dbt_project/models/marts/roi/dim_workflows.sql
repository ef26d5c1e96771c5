{#- Grain: one row per workflow in the register ("AI inventory"), with its baseline. -#}

with workflows as (
    select * from {{ ref('stg_config__workflows') }}
),

baselines as (
    select * from {{ ref('int_workflow_baselines') }}
)

select
    workflows.client_id,
    workflows.workflow_key,
    workflows.client_id || '|' || workflows.workflow_key as workflow_id,
    workflows.workflow_name,
    workflows.platform,
    workflows.workflow_owner,
    workflows.risk_class,
    workflows.process_name,
    workflows.go_live_date,
    workflows.workflow_status,
    workflows.retired_on_date,
    workflows.is_daily,
    workflows.configured_baseline_method,
    workflows.declared_source,
    baselines.window_start_date as baseline_window_start_date,
    baselines.window_end_date as baseline_window_end_date,
    baselines.window_days as baseline_window_days,
    baselines.baseline_staff_hours,
    baselines.baseline_volume_events,
    baselines.measured_minutes_per_task,
    baselines.is_measured_valid
from workflows
left join baselines
    on workflows.client_id = baselines.client_id
    and workflows.workflow_key = baselines.workflow_key
