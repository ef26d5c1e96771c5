{#- Grain: one row per missed guarantee month. A missed month credits the next month's fee
    (the fee in effect in that next month), including a miss in the last month processed.
    The fee is the one int_effective_values_monthly looks up for the credited month, the same
    lookup fct_client_months' fee charged uses (one rule). -#}

with client_months as (
    select * from {{ ref('fct_client_months') }}
),

fees as (
    select * from {{ ref('int_effective_values_monthly') }}
    where value_name = 'monthly_fee' and workflow_key is null
),

missed as (
    select
        client_id,
        currency,
        report_month as missed_month,
        {{ add_months('report_month', 1) }} as credited_month,
        hours_saved,
        guarantee_hours
    from client_months
    where guarantee_verdict = 'missed'
)

select
    missed.client_id,
    missed.missed_month,
    missed.client_id || '|' || cast(missed.missed_month as varchar) as credit_key,
    missed.credited_month,
    missed.currency,
    fees.effective_value as credit_amount,
    missed.hours_saved,
    missed.guarantee_hours,
    missed.guarantee_hours - coalesce(missed.hours_saved, 0) as shortfall_hours
from missed
left join fees
    on missed.client_id = fees.client_id
    and missed.credited_month = fees.report_month
