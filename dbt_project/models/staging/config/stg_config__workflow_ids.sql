with source as (
    select * from {{ source('config', 'config_workflow_ids') }}
)

select
    client_id,
    workflow_key,
    platform,
    platform_workflow_id
from source
