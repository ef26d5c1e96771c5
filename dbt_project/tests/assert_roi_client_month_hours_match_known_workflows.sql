{{ client_scoped_test() }}
-- The client's gross, residual, hours saved and value are the sums over its live
-- known-hours workflows only (docs/method.md, Unknown hours), 0 over none; the
-- unknown ones are counted in workflows_hours_unknown.
with client_months as (
    select
        client_id,
        report_month,
        gross_hours_saved,
        residual_manual_hours,
        hours_saved,
        value_created,
        workflows_hours_unknown
    from {{ ref('fct_client_months') }}
),

known as (
    select
        client_id,
        report_month,
        sum(case when not is_hours_unknown then gross_hours_saved else 0 end) as gross_hours_saved,
        sum(case when not is_hours_unknown then residual_manual_hours else 0 end) as residual_manual_hours,
        sum(case when not is_hours_unknown then hours_saved else 0 end) as hours_saved,
        sum(case when not is_hours_unknown then value_created else 0 end) as value_created,
        sum(case when is_hours_unknown then 1 else 0 end) as workflows_hours_unknown
    from {{ ref('fct_workflow_months') }}
    group by client_id, report_month
)

select
    client_months.client_id,
    client_months.report_month,
    client_months.hours_saved,
    known.hours_saved as known_hours_saved
from client_months
left join known
    on client_months.client_id = known.client_id
    and client_months.report_month = known.report_month
where abs(client_months.gross_hours_saved - coalesce(known.gross_hours_saved, 0)) > 1e-6
    or abs(client_months.residual_manual_hours - coalesce(known.residual_manual_hours, 0)) > 1e-6
    or abs(client_months.hours_saved - coalesce(known.hours_saved, 0)) > 1e-6
    or abs(client_months.value_created - coalesce(known.value_created, 0)) > 1e-6
    or client_months.workflows_hours_unknown <> coalesce(known.workflows_hours_unknown, 0)
