-- Grain of stg_config__workflows: one row per (client_id, workflow_key).
select
    client_id, workflow_key,
    count(*) as row_count
from {{ ref('stg_config__workflows') }}
group by client_id, workflow_key
having count(*) > 1
