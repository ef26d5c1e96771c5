{{ client_scoped_test() }}
{#- The monthly mart counts every lead of fct_lead_responses created in a spine month,
    once: per client and month the counts agree. Returns the months that disagree. -#}
with client_kpi_months as (
    select * from {{ ref('fct_client_kpi_months') }}
),

lead_responses as (
    select * from {{ ref('fct_lead_responses') }}
),

leads_per_month as (
    select
        client_id,
        created_month,
        count(*) as leads,
        sum(case when is_answered then 1 else 0 end) as leads_answered
    from lead_responses
    group by client_id, created_month
)

select
    client_kpi_months.client_id,
    client_kpi_months.report_month,
    client_kpi_months.leads_created,
    leads_per_month.leads
from client_kpi_months
left join leads_per_month
    on client_kpi_months.client_id = leads_per_month.client_id
    and client_kpi_months.report_month = leads_per_month.created_month
where client_kpi_months.leads_created <> coalesce(leads_per_month.leads, 0)
    or client_kpi_months.leads_answered <> coalesce(leads_per_month.leads_answered, 0)
