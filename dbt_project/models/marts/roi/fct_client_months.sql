{#- Grain: one row per client and calendar month (client's zone), from the engagement
    start month to the last month with data. Totals over the workflows live in the month,
    the fee charged, cost, ROI, the guarantee verdict, payback, consultancy hours by phase
    and the CRM KPIs with their baselines. Unrounded; currency = the client's. -#}

with client_months as (
    select * from {{ ref('int_client_months_spined') }}
),

clients as (
    select * from {{ ref('stg_config__clients') }}
),

workflows as (
    select * from {{ ref('stg_config__workflows') }}
),

workflow_months as (
    select * from {{ ref('fct_workflow_months') }}
),

client_values as (
    select * from {{ ref('int_effective_values_monthly') }}
    where workflow_key is null
),

time_entries as (
    select * from {{ ref('int_time_entries_classified') }}
),

kpis as (
    select * from {{ ref('fct_client_kpi_months') }}
),

as_of as (
    select * from {{ ref('int_client_as_of') }}
),

first_go_live as (
    select
        client_id,
        min(go_live_date) as first_go_live_date
    from workflows
    group by client_id
),

workflow_totals as (
    select
        client_id,
        report_month,
        count(*) as workflows_live,
        sum(case when is_hours_unknown then 1 else 0 end) as workflows_hours_unknown,
        {{ dbt.listagg('case when is_hours_unknown then workflow_key end', "', '", 'order by workflow_key') }}
            as unknown_hours_workflow_keys,
        sum(case when recommendation = 'fix' then 1 else 0 end) as workflows_to_fix,
        sum(tasks_automated) as tasks_automated,
        sum(production_runs) as production_runs,
        sum(failed_runs) as failed_runs,
        sum(coalesce(silent_days, 0)) as silent_days,
        -- hours and value: known workflows only (docs/method.md, Unknown hours)
        {{ exact_sum('gross_hours_saved') }} as gross_hours_saved,
        {{ exact_sum('case when not is_hours_unknown then residual_manual_hours end') }} as residual_manual_hours,
        {{ exact_sum('hours_saved') }} as hours_saved,
        {{ exact_sum('value_created') }} as value_created,
        {{ exact_sum('run_cost') }} as run_cost,
        -- the month-end projection at the pace of each workflow's live time so far
        {{ exact_sum(
            'case when not is_hours_unknown and live_time_elapsed_days > 0'
            ~ ' then hours_saved * live_days / live_time_elapsed_days else 0 end'
        ) }} as projected_month_hours
    from workflow_months
    group by client_id, report_month
),

consultancy as (
    select
        client_id,
        work_month,
        {{ exact_sum("case when consultancy_phase = 'build' then hours_logged else 0 end") }} as consultancy_build_hours,
        {{ exact_sum("case when consultancy_phase = 'operate' then hours_logged else 0 end") }} as consultancy_operate_hours,
        {{ exact_sum("case when consultancy_phase = 'expand' then hours_logged else 0 end") }} as consultancy_expand_hours,
        {{ exact_sum("case when consultancy_phase = 'other' then hours_logged else 0 end") }} as consultancy_other_hours
    from time_entries
    where is_consultancy
    group by client_id, work_month
),

fees as (
    select
        client_id,
        report_month,
        max(case when value_name = 'monthly_fee' then effective_value end) as monthly_fee,
        max(case when value_name = 'hourly_cost' then effective_value end) as hourly_cost
    from client_values
    group by client_id, report_month
),

joined as (
    select
        client_months.client_id,
        client_months.report_month,
        client_months.client_id || '|' || cast(client_months.report_month as varchar) as client_month_key,
        clients.client_name,
        clients.currency,
        clients.guarantee_hours,
        clients.build_fee,
        client_months.days_in_month,
        client_months.is_month_closed,
        client_months.settle_cutoff_at,
        client_months.as_of_at,
        as_of.is_as_of_from_load_time,
        first_go_live.first_go_live_date,
        case
            when extract(day from first_go_live.first_go_live_date) = 1
                then {{ month_of('first_go_live.first_go_live_date') }}
            else {{ add_months(month_of('first_go_live.first_go_live_date'), 1) }}
        end as first_guarantee_month,
        case
            when client_months.as_of_at is null then client_months.days_in_month
            else least(
                greatest(
                    {{ dbt.datediff('client_months.report_month', local_date('client_months.as_of_at', 'clients.timezone'), 'day') }} + 1,
                    0
                ),
                client_months.days_in_month
            )
        end as elapsed_days,
        coalesce(workflow_totals.workflows_live, 0) as workflows_live,
        coalesce(workflow_totals.workflows_hours_unknown, 0) as workflows_hours_unknown,
        workflow_totals.unknown_hours_workflow_keys,
        coalesce(workflow_totals.workflows_to_fix, 0) as workflows_to_fix,
        coalesce(workflow_totals.tasks_automated, 0) as tasks_automated,
        coalesce(workflow_totals.production_runs, 0) as production_runs,
        coalesce(workflow_totals.failed_runs, 0) as failed_runs,
        coalesce(workflow_totals.silent_days, 0) as silent_days,
        -- totals over the workflows live in M with known hours: over none, the total is 0
        -- (docs/method.md "Client month"); which workflows are unknown is said separately
        coalesce(workflow_totals.gross_hours_saved, 0) as gross_hours_saved,
        coalesce(workflow_totals.residual_manual_hours, 0) as residual_manual_hours,
        coalesce(workflow_totals.hours_saved, 0) as hours_saved,
        coalesce(workflow_totals.value_created, 0) as value_created,
        coalesce(workflow_totals.run_cost, 0) as run_cost,
        coalesce(workflow_totals.projected_month_hours, 0) as projected_month_hours,
        fees.monthly_fee as monthly_fee_in_effect,
        fees.hourly_cost,
        coalesce(consultancy.consultancy_build_hours, 0) as consultancy_build_hours,
        coalesce(consultancy.consultancy_operate_hours, 0) as consultancy_operate_hours,
        coalesce(consultancy.consultancy_expand_hours, 0) as consultancy_expand_hours,
        coalesce(consultancy.consultancy_other_hours, 0) as consultancy_other_hours
    from client_months
    inner join clients on client_months.client_id = clients.client_id
    left join as_of on client_months.client_id = as_of.client_id
    left join first_go_live on client_months.client_id = first_go_live.client_id
    left join workflow_totals
        on client_months.client_id = workflow_totals.client_id
        and client_months.report_month = workflow_totals.report_month
    left join fees
        on client_months.client_id = fees.client_id
        and client_months.report_month = fees.report_month
    left join consultancy
        on client_months.client_id = consultancy.client_id
        and client_months.report_month = consultancy.work_month
),

verdicts as (
    select
        *,
        case
            when first_go_live_date is null or report_month < first_guarantee_month then 'build phase'
            when guarantee_hours = 0 then 'no guarantee'
            -- hours can still fall (residual time logged later): no verdict, and so no
            -- credit, before the month has closed; is_guarantee_at_risk speaks for it
            when not is_month_closed then 'in progress'
            when hours_saved >= guarantee_hours then 'met'
            else 'missed'
        end as guarantee_verdict
    from joined
),

charged as (
    select
        *,
        case
            when lag(guarantee_verdict) over (partition by client_id order by report_month) = 'missed' then 0
            else coalesce(monthly_fee_in_effect, 0)
        end as fee_charged,
        coalesce(lag(guarantee_verdict) over (partition by client_id order by report_month) = 'missed', false)
            as is_fee_credited
    from verdicts
),

costed as (
    select
        *,
        fee_charged + run_cost as total_cost,
        value_created - (fee_charged + run_cost) as net_month
    from charged
),

cumulated as (
    select
        *,
        sum(net_month) over (
            partition by client_id order by report_month rows between unbounded preceding and current row
        ) as cumulative_net,
        avg(net_month) over (
            partition by client_id order by report_month rows between 2 preceding and current row
        ) as average_net_last_3_months
    from costed
),

paid_back as (
    select
        *,
        min(case when build_fee > 0 and cumulative_net >= build_fee then report_month end) over (
            partition by client_id order by report_month rows between unbounded preceding and current row
        ) as payback_month
    from cumulated
)

select
    paid_back.client_id,
    paid_back.report_month,
    paid_back.client_month_key,
    paid_back.client_name,
    paid_back.currency,
    paid_back.is_month_closed,
    paid_back.settle_cutoff_at,
    paid_back.as_of_at,
    paid_back.is_as_of_from_load_time,
    paid_back.days_in_month,
    paid_back.elapsed_days,
    paid_back.workflows_live,
    paid_back.workflows_hours_unknown,
    paid_back.unknown_hours_workflow_keys,
    paid_back.workflows_to_fix,
    paid_back.tasks_automated,
    paid_back.production_runs,
    paid_back.failed_runs,
    paid_back.silent_days,
    paid_back.gross_hours_saved,
    paid_back.residual_manual_hours,
    paid_back.hours_saved,
    paid_back.hourly_cost,
    paid_back.value_created,
    paid_back.run_cost,
    paid_back.monthly_fee_in_effect,
    paid_back.fee_charged,
    paid_back.is_fee_credited,
    paid_back.total_cost,
    case when paid_back.total_cost <> 0 then (paid_back.value_created - paid_back.total_cost) / paid_back.total_cost end as roi,
    case when paid_back.total_cost <> 0 then paid_back.value_created / paid_back.total_cost end as roi_multiple,
    paid_back.guarantee_hours,
    paid_back.first_guarantee_month,
    paid_back.guarantee_verdict,
    case
        when paid_back.guarantee_verdict in ('met', 'missed')
            then paid_back.hours_saved - paid_back.guarantee_hours
    end as hours_vs_guarantee,
    case
        when paid_back.elapsed_days > 0 then coalesce(paid_back.projected_month_hours, 0)
    end as projected_month_hours,
    not paid_back.is_month_closed
        and paid_back.guarantee_verdict = 'in progress'
        and paid_back.elapsed_days > 0
        and coalesce(paid_back.projected_month_hours, 0) < paid_back.guarantee_hours as is_guarantee_at_risk,
    paid_back.net_month,
    paid_back.cumulative_net,
    paid_back.build_fee,
    paid_back.payback_month,
    case
        when paid_back.build_fee = 0 then 'n/a'
        when paid_back.payback_month is not null then 'paid back'
        when paid_back.average_net_last_3_months > 0 then 'projected'
        else 'not paying back'
    end as payback_status,
    case
        when paid_back.build_fee > 0 and paid_back.payback_month is null and paid_back.average_net_last_3_months > 0
            then (paid_back.build_fee - paid_back.cumulative_net) / paid_back.average_net_last_3_months
    end as projected_months_to_payback,
    paid_back.consultancy_build_hours,
    paid_back.consultancy_operate_hours,
    paid_back.consultancy_expand_hours,
    paid_back.consultancy_other_hours,
    kpis.leads_created,
    kpis.leads_answered,
    kpis.leads_unanswered,
    kpis.response_minutes_median,
    kpis.response_minutes_p90,
    kpis.response_business_minutes_median,
    kpis.response_business_minutes_p90,
    kpis.is_response_provisional,
    kpis.leads_with_meeting,
    kpis.meeting_rate,
    kpis.leads_won,
    kpis.conversion_rate,
    kpis.is_cohort_provisional,
    kpis.leads_first_response_automated,
    kpis.coverage_rate,
    kpis.adoption_users,
    kpis.baseline_leads,
    kpis.baseline_response_minutes_median,
    kpis.baseline_response_minutes_p90,
    kpis.baseline_response_business_minutes_median,
    kpis.baseline_response_business_minutes_p90,
    kpis.baseline_leads_with_meeting,
    kpis.baseline_meeting_rate,
    kpis.baseline_leads_won,
    kpis.baseline_conversion_rate
from paid_back
left join kpis
    on paid_back.client_id = kpis.client_id
    and paid_back.report_month = kpis.report_month
