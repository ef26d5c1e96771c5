{{ client_scoped_test() }}
-- Composite foreign keys: every (client_id, workflow_key) of the run and workflow-month marts
-- is a workflow of dim_workflows of the same client (the generic relationships tests check
-- workflow_key alone, which is unique per client only).
with used as (
    select distinct client_id, workflow_key, 'fct_automation_runs' as used_in
    from {{ ref('fct_automation_runs') }}
    where workflow_key is not null
    union all
    select distinct client_id, workflow_key, 'fct_workflow_months' as used_in
    from {{ ref('fct_workflow_months') }}
)

select used.*
from used
left join {{ ref('dim_workflows') }} as workflows
    on used.client_id = workflows.client_id
    and used.workflow_key = workflows.workflow_key
where workflows.workflow_id is null
