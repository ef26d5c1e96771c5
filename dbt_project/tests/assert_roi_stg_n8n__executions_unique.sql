-- Grain of stg_n8n__executions: one row per (client_id, source_file, source_row_number).
select
    client_id, source_file, source_row_number,
    count(*) as row_count
from {{ ref('stg_n8n__executions') }}
group by client_id, source_file, source_row_number
having count(*) > 1
