-- Grain of stg_config__workflow_ids: one row per (client_id, platform, platform_workflow_id).
select
    client_id, platform, platform_workflow_id,
    count(*) as row_count
from {{ ref('stg_config__workflow_ids') }}
group by client_id, platform, platform_workflow_id
having count(*) > 1
