with source as (
    select * from {{ source('pipeline', '_landed_files') }}
)

select
    client_id,
    format as landing_format,
    source_file,
    file_sha256,
    status as load_status,
    error as load_error,
    rows_read,
    rows_loaded,
    rows_quarantined,
    extracted_at,
    loaded_at,
    covers_from,
    covers_to,
    covers_basis,
    latest_record_at
from source
