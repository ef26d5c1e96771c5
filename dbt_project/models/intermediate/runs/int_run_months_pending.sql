{#- Grain: one row per client and local month whose runs must be rebuilt because a run-log
    file with runs in that month is pending (int_run_files_pending): every month from the
    first to the last local month of the file's rows now, and of its rows when last built.
    The incremental runs models rebuild these months besides the report month (ROI_REPORT_MONTH).
    With a report month, also every month of a failed run, already built and not recovered,
    whose direct retry started in the report month's window succeeded: its recovered count
    changes (the runs fact read by name, as this model's downstream state, like the ledger). -#}
{%- set runs_fact = adapter.get_relation(
        database=this.database, schema=generate_schema_name('marts', none), identifier='fct_automation_runs')
    if execute else none %}
{%- set recheck_retries = runs_fact is not none and month_setting('report_month') and not flags.FULL_REFRESH %}

{#- a table, not a view: the months are decided once, before the runs fact they read changes #}
{{ config(materialized='table') }}

-- depends_on: {{ ref('stg_n8n__executions') }}
-- depends_on: {{ ref('stg_generic__runs') }}

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
    {%- if recheck_retries %}
    union
    select
        built.client_id,
        built.run_month as first_run_month,
        built.run_month as last_run_month
    from {{ runs_fact }} as built
    inner join (
        select client_id, platform, retry_of_run_id from {{ ref('stg_n8n__executions') }}
        where run_status = 'success' and retry_of_run_id is not null
            and started_at >= {{ report_month_window_start() }} and started_at < {{ report_month_window_end() }}
        union
        select client_id, platform, retry_of_run_id from {{ ref('stg_generic__runs') }}
        where run_status = 'success' and retry_of_run_id is not null
            and started_at >= {{ report_month_window_start() }} and started_at < {{ report_month_window_end() }}
    ) as retries
        on built.client_id = retries.client_id
        and built.platform = retries.platform
        and built.run_id = retries.retry_of_run_id
    where built.status_class = 'failed'
        and not built.is_recovered
        and built.run_month < {{ month_var('report_month') }}
    {%- endif %}
)

select distinct
    spans.client_id,
    months.report_month as run_month,
    spans.client_id || '|' || cast(months.report_month as varchar) as client_month_key
from spans
inner join months
    on months.report_month >= spans.first_run_month
    and months.report_month <= spans.last_run_month
