{#- Grain: one row per workflow in the register and calendar month of its client (client's
    zone), every month of the engagement: the AI inventory as it stood in the month
    (docs/method.md section 8). Lifecycle, what changed in the month, the month's run cost,
    the review due date and the two governance flags. -#}

with client_months as (
    select * from {{ ref('int_client_months_spined') }}
),

workflows as (
    select * from {{ ref('stg_config__workflows') }}
),

workflow_months as (
    select * from {{ ref('fct_workflow_months') }}
),

data_touched as (
    select
        client_id,
        substr(list_name, 14) as workflow_key,
        {{ dbt.listagg('list_value', "'; '", 'order by list_value') }} as data_touched
    from {{ ref('stg_config__lists') }}
    where list_name like 'data_touched:%'
    group by client_id, substr(list_name, 14)
),

inventory as (
    select
        client_months.client_id,
        workflows.workflow_key,
        client_months.report_month,
        client_months.month_end_date,
        workflows.workflow_name,
        workflows.platform,
        workflows.workflow_owner,
        workflows.risk_class,
        workflows.process_name,
        data_touched.data_touched,
        workflows.has_human_approval,
        workflows.llm_vendor,
        workflows.llm_model,
        workflows.go_live_date,
        workflows.retired_on_date,
        workflows.paused_on_date,
        workflows.workflow_status,
        workflows.last_review_date,
        workflows.review_every_months,
        {{ add_months('coalesce(workflows.last_review_date, workflows.go_live_date)', 'workflows.review_every_months') }}
            as review_due_date,
        workflow_months.workflow_key is not null as is_live_in_month,
        coalesce(workflow_months.run_cost, 0) as run_cost,
        case
            when workflows.go_live_date > client_months.month_end_date then 'building'
            when workflows.retired_on_date <= client_months.month_end_date then 'retired'
            when
                workflows.workflow_status = 'paused'
                and (workflows.paused_on_date is null or workflows.paused_on_date <= client_months.month_end_date)
                then 'paused'
            else 'live'
        end as lifecycle_state,
        workflows.go_live_date between client_months.report_month and client_months.month_end_date as is_new_in_month,
        coalesce(workflows.retired_on_date between client_months.report_month and client_months.month_end_date, false)
            as is_retired_in_month,
        coalesce(workflows.paused_on_date between client_months.report_month and client_months.month_end_date, false)
            as is_paused_in_month
    from client_months
    inner join workflows on client_months.client_id = workflows.client_id
    left join workflow_months
        on workflows.client_id = workflow_months.client_id
        and workflows.workflow_key = workflow_months.workflow_key
        and client_months.report_month = workflow_months.report_month
    left join data_touched
        on workflows.client_id = data_touched.client_id
        and workflows.workflow_key = data_touched.workflow_key
)

select
    client_id || '|' || workflow_key || '|' || cast(report_month as varchar) as inventory_month_key,
    client_id,
    workflow_key,
    report_month,
    workflow_name,
    platform,
    workflow_owner,
    risk_class,
    process_name,
    data_touched,
    has_human_approval,
    llm_vendor,
    llm_model,
    go_live_date,
    retired_on_date,
    paused_on_date,
    workflow_status,
    lifecycle_state,
    is_live_in_month,
    is_new_in_month,
    is_retired_in_month,
    is_paused_in_month,
    run_cost,
    last_review_date,
    review_every_months,
    review_due_date,
    lifecycle_state in ('live', 'paused') and review_due_date <= month_end_date as is_review_overdue,
    risk_class = 'high' and lifecycle_state <> 'retired' and not coalesce(has_human_approval, false)
        as is_high_risk_without_checkpoint
from inventory
