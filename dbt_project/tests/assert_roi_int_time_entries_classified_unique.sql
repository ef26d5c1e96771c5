-- Grain of int_time_entries_classified: one row per (client_id, timesheet_format, entry_key).
select
    client_id, timesheet_format, entry_key,
    count(*) as row_count
from {{ ref('int_time_entries_classified') }}
group by client_id, timesheet_format, entry_key
having count(*) > 1
