{{ client_scoped_test() }}
-- total_cost = fee_charged + run_cost on every client-month; the fee charged is the fee in
-- effect, or 0 exactly when the previous month's guarantee was missed; the cumulative net is
-- the running sum of net_month.
with client_months as (
    select
        *,
        lag(guarantee_verdict) over (partition by client_id order by report_month) as previous_verdict,
        sum(net_month) over (
            partition by client_id order by report_month rows between unbounded preceding and current row
        ) as expected_cumulative_net
    from {{ ref('fct_client_months') }}
)

select
    client_id,
    client_month_key,
    fee_charged,
    run_cost,
    total_cost,
    monthly_fee_in_effect,
    previous_verdict
from client_months
where abs(total_cost - (fee_charged + run_cost)) > 1e-6
    or (previous_verdict = 'missed' and fee_charged <> 0)
    or (coalesce(previous_verdict, '') <> 'missed' and fee_charged <> coalesce(monthly_fee_in_effect, 0))
    or abs(cumulative_net - expected_cumulative_net) > 1e-6
