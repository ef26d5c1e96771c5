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
),

-- the consultancy's own economics (docs/method.md section 8): its hours against the fee
economics as (
    select
        client_id,
        report_month,
        consultancy_build_hours + consultancy_operate_hours + consultancy_expand_hours + consultancy_other_hours
            as consultancy_hours,
        case
            when consultancy_build_hours + consultancy_operate_hours + consultancy_expand_hours
                + consultancy_other_hours > 0
                then fee_charged / (
                    consultancy_build_hours + consultancy_operate_hours + consultancy_expand_hours
                    + consultancy_other_hours
                )
        end as effective_hourly_rate
    from client_months
),

economics_trend as (
    select
        *,
        lag(effective_hourly_rate) over (partition by client_id order by report_month) as previous_effective_hourly_rate
    from economics
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
    to_fix.workflows_to_fix_names,
    client_months.fee_charged,
    client_months.consultancy_build_hours,
    client_months.consultancy_operate_hours,
    client_months.consultancy_expand_hours,
    client_months.consultancy_other_hours,
    economics_trend.consultancy_hours,
    economics_trend.effective_hourly_rate,
    economics_trend.previous_effective_hourly_rate,
    coalesce(economics_trend.effective_hourly_rate < economics_trend.previous_effective_hourly_rate, false)
        as is_hourly_rate_falling
from client_months
left join to_fix
    on client_months.client_id = to_fix.client_id
    and client_months.report_month = to_fix.report_month
left join economics_trend
    on client_months.client_id = economics_trend.client_id
    and client_months.report_month = economics_trend.report_month
