-- Grain of int_client_months_spined: one row per (client_id, report_month).
select
    client_id, report_month,
    count(*) as row_count
from {{ ref('int_client_months_spined') }}
group by client_id, report_month
having count(*) > 1
