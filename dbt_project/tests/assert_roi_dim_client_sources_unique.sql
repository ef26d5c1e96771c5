-- Grain of dim_client_sources: one row per (client_id, source_name).
select
    client_id, source_name,
    count(*) as row_count
from {{ ref('dim_client_sources') }}
group by client_id, source_name
having count(*) > 1
