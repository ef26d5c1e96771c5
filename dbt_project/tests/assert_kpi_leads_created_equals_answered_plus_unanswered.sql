{{ client_scoped_test() }}
{#- Every lead of a month is either answered or unanswered (docs/method.md: unanswered
    leads are reported separately, never dropped). Returns the rows that break it. -#}
with client_kpi_months as (
    select * from {{ ref('fct_client_kpi_months') }}
)

select
    client_id,
    report_month,
    leads_created,
    leads_answered,
    leads_unanswered
from client_kpi_months
where leads_created <> leads_answered + leads_unanswered
