{#- The effective-dated values that apply to each live workflow-month and client-month:
    the entry in effect on the first day of the month (docs/method.md).

    First values mid-month (docs/method.md): when nothing is in effect on the 1st of
    M because the list's first value takes effect later in M (a mid-month engagement start
    or go-live), that first value applies to the whole of M. Otherwise the value in effect
    on the 1st applies, even in a go-live month with a later change in it.

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
        client_lookup_months.report_month
    from client_lookup_months
    union all
    select
        workflow_months.client_id,
        workflow_months.workflow_key,
        workflow_months.report_month
    from workflow_months
),

candidates as (
    select
        lookups.client_id,
        lookups.workflow_key,
        lookups.report_month,
        values_.value_name,
        values_.effective_value,
        -- the latest entry in effect on the 1st; failing that, the first entry of M
        row_number() over (
            partition by lookups.client_id, lookups.workflow_key, lookups.report_month, values_.value_name
            order by
                case when values_.effective_from <= lookups.report_month then values_.effective_from end desc nulls last,
                values_.effective_from asc
        ) as recency
    from lookups
    inner join values_
        on lookups.client_id = values_.client_id
        and (
            (lookups.workflow_key is null and values_.workflow_key is null)
            or lookups.workflow_key = values_.workflow_key
        )
        and values_.effective_from < {{ add_months('lookups.report_month', 1) }}
)

select
    client_id,
    workflow_key,
    report_month,
    value_name,
    effective_value
from candidates
where recency = 1
