-- Grain of int_workflow_run_months: one row per (client_id, workflow_key, run_month).
select
    client_id, workflow_key, run_month,
    count(*) as row_count
from {{ ref('int_workflow_run_months') }}
group by client_id, workflow_key, run_month
having count(*) > 1
