{#- Grain: one row per client and month: the consultancy's portfolio view. Currencies are
    never converted: group or filter by currency to compare money. -#}

with client_months as (
    select * from {{ ref('fct_client_months') }}
),

workflow_months as (
    select * from {{ ref('fct_workflow_months') }}
),

to_fix as (
    select
        client_id,
        report_month,
        {{ dbt.listagg('workflow_name', "', '", 'order by workflow_name') }} as workflows_to_fix_names
    from workflow_months
    where recommendation = 'fix'
    group by client_id, report_month
)

select
    client_months.client_id,
    client_months.report_month,
    client_months.client_month_key,
    client_months.client_name,
    client_months.currency,
    client_months.is_month_closed,
    client_months.guarantee_verdict,
    client_months.guarantee_hours,
    client_months.hours_saved,
    client_months.projected_month_hours,
    client_months.is_guarantee_at_risk,
    client_months.tasks_automated,
    client_months.value_created,
    client_months.total_cost,
    client_months.roi,
    client_months.payback_status,
    client_months.failed_runs,
    client_months.silent_days,
    client_months.workflows_to_fix,
    to_fix.workflows_to_fix_names
from client_months
left join to_fix
    on client_months.client_id = to_fix.client_id
    and client_months.report_month = to_fix.report_month
