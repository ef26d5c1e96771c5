with source as (
    select * from {{ source('pipeline', '_quarantine') }}
)

select
    client_id,
    format as landing_format,
    source_file,
    row_number as source_row_number,
    reason as quarantine_reason,
    loaded_at
from source
