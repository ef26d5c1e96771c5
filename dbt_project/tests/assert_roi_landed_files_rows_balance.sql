-- Every record read from a loaded landing file was either loaded or quarantined.
select
    source_file,
    rows_read,
    rows_loaded,
    rows_quarantined
from {{ ref('stg_pipeline__landed_files') }}
where load_status = 'loaded'
    and (
        rows_read is null
        or rows_read <> coalesce(rows_loaded, 0) + coalesce(rows_quarantined, 0)
    )
