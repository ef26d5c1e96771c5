{{ client_scoped_test() }}
-- fct_client_months.tasks_automated = Σ fct_workflow_months.tasks_automated of the client
-- and month (every live workflow, unknown hours included); also run cost and production
-- runs. A workflow-month without its client-month row fails too.
with client_months as (
    select client_id, report_month, tasks_automated, run_cost, production_runs
    from {{ ref('fct_client_months') }}
),

workflow_totals as (
    select
        client_id,
        report_month,
        sum(tasks_automated) as tasks_automated,
        sum(run_cost) as run_cost,
        sum(production_runs) as production_runs
    from {{ ref('fct_workflow_months') }}
    group by client_id, report_month
)

select
    coalesce(client_months.client_id, workflow_totals.client_id) as client_id,
    coalesce(client_months.report_month, workflow_totals.report_month) as report_month,
    client_months.tasks_automated as client_tasks_automated,
    workflow_totals.tasks_automated as workflow_tasks_automated,
    client_months.run_cost as client_run_cost,
    workflow_totals.run_cost as workflow_run_cost
from client_months
full outer join workflow_totals
    on client_months.client_id = workflow_totals.client_id
    and client_months.report_month = workflow_totals.report_month
where client_months.client_id is null
    or client_months.tasks_automated <> coalesce(workflow_totals.tasks_automated, 0)
    or client_months.production_runs <> coalesce(workflow_totals.production_runs, 0)
    or abs(client_months.run_cost - coalesce(workflow_totals.run_cost, 0)) > 1e-6
