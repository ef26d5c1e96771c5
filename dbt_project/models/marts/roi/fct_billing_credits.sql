{#- Grain: one row per missed guarantee month. A missed month credits the next month's fee
    (the fee in effect in that next month), including a miss in the last month processed. -#}

with client_months as (
    select * from {{ ref('fct_client_months') }}
),

clients as (
    select * from {{ ref('stg_config__clients') }}
),

fee_values as (
    select * from {{ ref('stg_config__effective_values') }}
    where value_name = 'monthly_fee' and workflow_key is null
),

missed as (
    select
        client_months.client_id,
        client_months.currency,
        client_months.report_month as missed_month,
        {{ add_months('client_months.report_month', 1) }} as credited_month,
        client_months.hours_saved,
        client_months.guarantee_hours,
        greatest({{ add_months('client_months.report_month', 1) }}, clients.engagement_start) as fee_lookup_date
    from client_months
    inner join clients on client_months.client_id = clients.client_id
    where client_months.guarantee_verdict = 'missed'
),

fee_in_effect as (
    select
        missed.client_id,
        missed.missed_month,
        fee_values.effective_value,
        row_number() over (
            partition by missed.client_id, missed.missed_month order by fee_values.effective_from desc
        ) as recency
    from missed
    inner join fee_values
        on missed.client_id = fee_values.client_id
        and fee_values.effective_from <= missed.fee_lookup_date
)

select
    missed.client_id,
    missed.missed_month,
    missed.client_id || '|' || cast(missed.missed_month as varchar) as credit_key,
    missed.credited_month,
    missed.currency,
    fee_in_effect.effective_value as credit_amount,
    missed.hours_saved,
    missed.guarantee_hours,
    missed.guarantee_hours - coalesce(missed.hours_saved, 0) as shortfall_hours
from missed
left join fee_in_effect
    on missed.client_id = fee_in_effect.client_id
    and missed.missed_month = fee_in_effect.missed_month
    and fee_in_effect.recency = 1
