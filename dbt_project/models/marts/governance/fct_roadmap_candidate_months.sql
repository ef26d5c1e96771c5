{#- Grain: one row per roadmap candidate and calendar month of its client (client's zone),
    every month of the engagement: the candidate's estimates valued at the month's loaded
    hourly cost, its estimated payback and rank among the candidates not yet live, and,
    once the workflow it became is live, the actual figures beside the estimates
    (docs/method.md section 8). Unrounded; currency = the client's. -#}

with client_months as (
    select * from {{ ref('int_client_months_spined') }}
),

candidates as (
    select * from {{ ref('stg_config__candidates') }}
),

workflows as (
    select * from {{ ref('stg_config__workflows') }}
),

workflow_months as (
    select * from {{ ref('fct_workflow_months') }}
),

hourly as (
    select
        client_id,
        report_month,
        effective_value as hourly_cost
    from {{ ref('int_effective_values_monthly') }}
    where workflow_key is null and value_name = 'hourly_cost'
),

estimated as (
    select
        candidates.candidate_id,
        candidates.client_id,
        candidates.candidate_key,
        client_months.report_month,
        candidates.candidate_name,
        candidates.process_name,
        candidates.workflow_key,
        workflows.go_live_date,
        candidates.est_tasks_per_month,
        candidates.est_minutes_per_task,
        candidates.est_build_hours,
        candidates.est_tooling_cost,
        hourly.hourly_cost,
        candidates.est_tasks_per_month * candidates.est_minutes_per_task / 60 as est_hours_saved,
        candidates.est_tasks_per_month * candidates.est_minutes_per_task / 60 * hourly.hourly_cost
            - candidates.est_tooling_cost as est_net_value,
        candidates.est_build_hours * hourly.hourly_cost as est_build_cost,
        case
            when workflows.go_live_date is null or workflows.go_live_date > client_months.month_end_date
                then 'candidate'
            when workflow_months.workflow_key is not null then 'live'
            else 'retired'
        end as candidate_state,
        workflow_months.live_days as actual_live_days,
        workflow_months.tasks_automated as actual_tasks_automated,
        workflow_months.minutes_per_task as actual_minutes_per_task,
        workflow_months.hours_saved as actual_hours_saved,
        workflow_months.is_hours_unknown as is_actual_hours_unknown,
        workflow_months.run_cost as actual_run_cost,
        workflow_months.net_value as actual_net_value
    from client_months
    inner join candidates on client_months.client_id = candidates.client_id
    left join workflows
        on candidates.client_id = workflows.client_id
        and candidates.workflow_key = workflows.workflow_key
    left join workflow_months
        on candidates.client_id = workflow_months.client_id
        and candidates.workflow_key = workflow_months.workflow_key
        and client_months.report_month = workflow_months.report_month
    left join hourly
        on client_months.client_id = hourly.client_id
        and client_months.report_month = hourly.report_month
),

paying_back as (
    select
        *,
        case when est_net_value > 0 then est_build_cost / est_net_value end as est_payback_months
    from estimated
)

select
    candidate_id || '|' || cast(report_month as varchar) as candidate_month_key,
    candidate_id,
    client_id,
    candidate_key,
    report_month,
    candidate_name,
    process_name,
    workflow_key,
    go_live_date,
    candidate_state,
    est_tasks_per_month,
    est_minutes_per_task,
    est_build_hours,
    est_tooling_cost,
    hourly_cost,
    est_hours_saved,
    est_net_value,
    est_build_cost,
    est_payback_months,
    case
        when candidate_state = 'candidate'
            then row_number() over (
                partition by client_id, report_month, candidate_state = 'candidate'
                order by est_payback_months asc nulls last, candidate_key
            )
    end as payback_rank,
    actual_live_days,
    actual_tasks_automated,
    actual_minutes_per_task,
    actual_hours_saved,
    is_actual_hours_unknown,
    actual_run_cost,
    actual_net_value,
    actual_tasks_automated - est_tasks_per_month as tasks_vs_estimate,
    actual_net_value - est_net_value as net_value_vs_estimate
from paying_back
