-- Grain of stg_harvest__time_entries: one row per (client_id, source_file, entry_key).
select
    client_id, source_file, entry_key,
    count(*) as row_count
from {{ ref('stg_harvest__time_entries') }}
group by client_id, source_file, entry_key
having count(*) > 1
