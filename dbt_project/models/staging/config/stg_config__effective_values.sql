with source as (
    select * from {{ source('config', 'config_effective_values') }}
)

select
    client_id,
    workflow_key,
    item as value_name,
    effective_from,
    value as effective_value
from source
