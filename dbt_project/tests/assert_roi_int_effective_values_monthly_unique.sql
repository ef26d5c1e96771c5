-- Grain of int_effective_values_monthly: one row per (client_id, workflow_key, report_month, value_name).
select
    client_id, workflow_key, report_month, value_name,
    count(*) as row_count
from {{ ref('int_effective_values_monthly') }}
group by client_id, workflow_key, report_month, value_name
having count(*) > 1
