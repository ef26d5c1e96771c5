-- Grain of stg_config__effective_values: one row per (client_id, workflow_key, value_name, effective_from).
select
    client_id, workflow_key, value_name, effective_from,
    count(*) as row_count
from {{ ref('stg_config__effective_values') }}
group by client_id, workflow_key, value_name, effective_from
having count(*) > 1
