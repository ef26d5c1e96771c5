-- Grain of int_workflow_baselines: one row per (client_id, workflow_key).
select
    client_id, workflow_key,
    count(*) as row_count
from {{ ref('int_workflow_baselines') }}
group by client_id, workflow_key
having count(*) > 1
