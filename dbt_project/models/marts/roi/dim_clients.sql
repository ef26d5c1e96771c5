{#- Grain: one row per client: the engagement terms in force now (effective-dated values
    by month are in fct_client_months). -#}

with clients as (
    select * from {{ ref('stg_config__clients') }}
),

workflows as (
    select * from {{ ref('stg_config__workflows') }}
),

as_of as (
    select * from {{ ref('int_client_as_of') }}
),

register as (
    select
        client_id,
        count(*) as workflows_registered,
        min(go_live_date) as first_go_live_date
    from workflows
    group by client_id
)

select
    clients.client_id,
    clients.client_name,
    clients.currency,
    clients.timezone,
    clients.locale,
    clients.engagement_start,
    clients.build_fee,
    clients.guarantee_hours,
    clients.baseline_days,
    clients.settle_days,
    clients.cohort_window_days,
    clients.timesheet_format,
    register.workflows_registered,
    register.first_go_live_date,
    as_of.as_of_at,
    as_of.failed_files,
    as_of.quarantined_rows,
    clients.config_sha256
from clients
left join register on clients.client_id = register.client_id
left join as_of on clients.client_id = as_of.client_id
