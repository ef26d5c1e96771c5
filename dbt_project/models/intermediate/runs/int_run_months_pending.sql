{#- Grain: one row per client and local month whose runs must be rebuilt because a run-log
    file with runs in that month is pending (int_run_files_pending): every month from the
    first to the last local month of the file's rows now, and of its rows when last built.
    The incremental runs models rebuild these months besides the report month (ROI_REPORT_MONTH). -#}
with pending_files as (
    select * from {{ ref('int_run_files_pending') }}
),

months as (
    select * from {{ ref('int_calendar_months') }}
),

spans as (
    select
        client_id,
        first_run_month,
        last_run_month
    from pending_files
    where first_run_month is not null
    union
    select
        client_id,
        built_first_run_month as first_run_month,
        built_last_run_month as last_run_month
    from pending_files
    where built_first_run_month is not null
)

select distinct
    spans.client_id,
    months.report_month as run_month,
    spans.client_id || '|' || cast(months.report_month as varchar) as client_month_key
from spans
inner join months
    on months.report_month >= spans.first_run_month
    and months.report_month <= spans.last_run_month
