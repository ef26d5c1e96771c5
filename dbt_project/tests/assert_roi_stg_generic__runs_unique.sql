-- Grain of stg_generic__runs: one row per (client_id, source_file, source_row_number).
select
    client_id, source_file, source_row_number,
    count(*) as row_count
from {{ ref('stg_generic__runs') }}
group by client_id, source_file, source_row_number
having count(*) > 1
