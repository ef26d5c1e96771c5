-- Grain of stg_config__lists: one row per (client_id, list_name, list_value).
select
    client_id, list_name, list_value,
    count(*) as row_count
from {{ ref('stg_config__lists') }}
group by client_id, list_name, list_value
having count(*) > 1
