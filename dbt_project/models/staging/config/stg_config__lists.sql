with source as (
    select * from {{ source('config', 'config_lists') }}
)

select
    client_id,
    list_name,
    value as list_value
from source
