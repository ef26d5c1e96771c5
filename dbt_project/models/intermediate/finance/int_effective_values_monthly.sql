{#- The effective-dated values that apply to each live workflow-month and client-month:
    the entry in effect on the first day of the month (ROI-METHOD.md, Exact rules).

    Open choice, documented: a value anchored at a mid-month go-live (or engagement start)
    is not in effect on the 1st of that first month, so for the first month the lookup day
    is the anchor day itself; every later month uses its 1st.

    Client values are also looked up for the month after each client-month: a missed
    guarantee credits the next month's fee in effect, including after the last month
    processed (fct_billing_credits reads it here, so the fee has one lookup). -#}
{{ config(materialized='table') }}

with values_ as (
    select * from {{ ref('stg_config__effective_values') }}
),

client_months as (
    select * from {{ ref('int_client_months_spined') }}
),

workflow_months as (
    select * from {{ ref('int_workflow_months_spined') }}
),

workflows as (
    select * from {{ ref('stg_config__workflows') }}
),

clients as (
    select * from {{ ref('stg_config__clients') }}
),

client_lookup_months as (
    select
        client_id,
        report_month
    from client_months
    union
    select
        client_id,
        {{ add_months('report_month', 1) }} as report_month
    from client_months
),

lookups as (
    select
        client_lookup_months.client_id,
        cast(null as varchar) as workflow_key,
        client_lookup_months.report_month,
        greatest(client_lookup_months.report_month, clients.engagement_start) as lookup_date
    from client_lookup_months
    inner join clients on client_lookup_months.client_id = clients.client_id
    union all
    select
        workflow_months.client_id,
        workflow_months.workflow_key,
        workflow_months.report_month,
        greatest(workflow_months.report_month, workflows.go_live_date) as lookup_date
    from workflow_months
    inner join workflows
        on workflow_months.client_id = workflows.client_id
        and workflow_months.workflow_key = workflows.workflow_key
),

candidates as (
    select
        lookups.client_id,
        lookups.workflow_key,
        lookups.report_month,
        values_.value_name,
        values_.effective_value,
        row_number() over (
            partition by lookups.client_id, lookups.workflow_key, lookups.report_month, values_.value_name
            order by values_.effective_from desc
        ) as recency
    from lookups
    inner join values_
        on lookups.client_id = values_.client_id
        and (
            (lookups.workflow_key is null and values_.workflow_key is null)
            or lookups.workflow_key = values_.workflow_key
        )
        and values_.effective_from <= lookups.lookup_date
)

select
    client_id,
    workflow_key,
    report_month,
    value_name,
    effective_value
from candidates
where recency = 1
