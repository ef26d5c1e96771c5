{{ client_scoped_test() }}
-- Every 'missed' verdict has exactly one billing-credit row, and every credit row belongs to
-- a missed month; the credited month is the next one and, when it is in the spine, its fee
-- charged is 0.
with missed as (
    select client_id, report_month
    from {{ ref('fct_client_months') }}
    where guarantee_verdict = 'missed'
),

credits as (
    select
        client_id,
        missed_month,
        credited_month,
        count(*) over (partition by client_id, missed_month) as credit_rows
    from {{ ref('fct_billing_credits') }}
),

credited_months as (
    select client_id, report_month, fee_charged
    from {{ ref('fct_client_months') }}
)

select
    coalesce(missed.client_id, credits.client_id) as client_id,
    coalesce(missed.report_month, credits.missed_month) as missed_month,
    credits.credit_rows,
    credited_months.fee_charged
from missed
full outer join credits
    on missed.client_id = credits.client_id
    and missed.report_month = credits.missed_month
left join credited_months
    on credits.client_id = credited_months.client_id
    and credits.credited_month = credited_months.report_month
where missed.client_id is null
    or credits.client_id is null
    or credits.credit_rows <> 1
    or credits.credited_month <> {{ add_months('credits.missed_month', 1) }}
    or credited_months.fee_charged <> 0
