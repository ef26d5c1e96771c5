-- Grain of stg_pipeline__quarantine: one row per (client_id, source_file, source_row_number).
select
    client_id, source_file, source_row_number,
    count(*) as row_count
from {{ ref('stg_pipeline__quarantine') }}
group by client_id, source_file, source_row_number
having count(*) > 1
