-- Grain of int_source_as_of: one row per (client_id, source_name).
select
    client_id, source_name,
    count(*) as row_count
from {{ ref('int_source_as_of') }}
group by client_id, source_name
having count(*) > 1
