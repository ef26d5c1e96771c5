{#- One row per workflow and local month with runs: the run counts and sums behind the
    workflow-month mart. Only runs on a live day of the workflow count (earlier runs are
    build/testing). Incremental like fct_automation_runs: with a report month (month_setting) it
    replaces exactly that month (and the client-months int_run_months_pending names: landed
    runs not built yet), so its cost follows the month's runs, not all history; its first
    build (and a full refresh) takes every month. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_partition(this, ('(run_month = ' ~ month_var('report_month') ~ ')' ~ or_pending_months('client_id', 'run_month')) if month_setting('report_month') else '1 = 1') }}"
    )
}}

-- depends_on: {{ ref('int_run_months_pending') }}

with runs as (
    select * from {{ ref('fct_automation_runs') }}
    where workflow_key is not null
        and is_on_live_day
        {% if is_incremental() and month_setting('report_month') -%}
        and (run_month = {{ month_var('report_month') }}
            {{- or_pending_months('client_id', 'run_month') }})
        {%- endif %}
)

select
    client_id,
    workflow_key,
    run_month,
    sum(case when is_production then 1 else 0 end) as production_runs,
    sum(case when is_production and status_class = 'success' then 1 else 0 end) as successful_runs,
    sum(case when is_production and status_class = 'failed' then 1 else 0 end) as failed_runs,
    sum(case when is_production and is_recovered then 1 else 0 end) as recovered_runs,
    sum(tasks_counted) as tasks_automated,
    {{ exact_sum('llm_cost') }} as llm_cost,
    {{ percentile(
        "case when is_production and status_class in ('success', 'failed') then duration_seconds end", 0.95
    ) }} as p95_duration_seconds,
    count(distinct case when is_production then started_local_date end) as active_days
from runs
group by client_id, workflow_key, run_month
