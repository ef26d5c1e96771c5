{#- Grain: one row per client, local month and platform workflow id that the client's
    register does not know, with at least one run in the month (docs/method.md).

    Runs of an unregistered workflow (a scratch pad, a test flow, another team's
    automation) count nowhere: fct_automation_runs keeps them with a null workflow_key and
    nothing downstream reads those rows but this list. The consultancy sees each id with its
    production runs, to register or ignore it; ids the client configures as ignored
    (ignored_workflow_ids, any platform) are left out. Production is fct_automation_runs'
    is_production, the one definition. -#}

with runs as (
    select * from {{ ref('fct_automation_runs') }}
    where workflow_key is null
),

ignored as (
    select distinct
        client_id,
        list_value as platform_workflow_id
    from {{ ref('stg_config__lists') }}
    where list_name = 'ignored_workflow_ids'
)

select
    runs.client_id,
    runs.run_month as report_month,
    runs.platform,
    runs.platform_workflow_id,
    runs.client_id || '|' || cast(runs.run_month as varchar) || '|' || runs.platform || '|' || runs.platform_workflow_id
        as unregistered_workflow_month_key,
    count(*) as runs,
    sum(case when runs.is_production then 1 else 0 end) as production_runs,
    min(runs.started_at) as first_started_at,
    max(runs.started_at) as last_started_at
from runs
left join ignored
    on runs.client_id = ignored.client_id
    and runs.platform_workflow_id = ignored.platform_workflow_id
where ignored.platform_workflow_id is null
group by runs.client_id, runs.run_month, runs.platform, runs.platform_workflow_id
