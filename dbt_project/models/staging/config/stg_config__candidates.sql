with source as (
    select * from {{ source('config', 'config_candidates') }}
)

select
    client_id || '|' || candidate_key as candidate_id,
    client_id,
    candidate_key,
    candidate_name,
    process as process_name,
    est_tasks_per_month,
    est_minutes_per_task,
    est_build_hours,
    coalesce(est_tooling_cost, 0) as est_tooling_cost,
    workflow_key
from source
