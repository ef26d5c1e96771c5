{#- One row per client and calendar month (in the client's zone) from the engagement
    start month to the month being reported (ROI_REPORT_MONTH; without it the latest month
    with runs of any client), or the client's last month with runs when later, or
    ROI_THROUGH_MONTH, whether or not any data arrived (docs/method.md: a month with no runs
    at all is a month with zero tasks, judged and credited like any other), with the month's
    bounds as UTC instants and whether the month is closed (its settle period has passed
    as of the data). -#}
{{ config(materialized='table') }}

with clients as (
    select * from {{ ref('stg_config__clients') }}
),

as_of as (
    select * from {{ ref('int_client_as_of') }}
),

months as (
    select * from {{ ref('int_calendar_months') }}
),

runs as (
    select * from {{ ref('fct_automation_runs') }}
),

last_run_month as (
    select
        client_id,
        max(run_month) as last_run_month
    from runs
    group by client_id
),

reported_month as (
    -- the month being reported: ROI_REPORT_MONTH, else (a full build) the latest month
    -- holding any run of any client
    select coalesce({{ month_var('report_month') }}, max(run_month)) as reported_month
    from runs
),

bounds as (
    select
        clients.client_id,
        clients.timezone,
        clients.settle_days,
        {{ month_of('clients.engagement_start') }} as first_month,
        coalesce(
            {{ month_var('through_month') }},
            -- greatest() skips nulls on both adapters
            greatest(last_run_month.last_run_month, reported_month.reported_month),
            {{ month_of('clients.engagement_start') }}
        ) as last_month,
        as_of.as_of_at
    from clients
    cross join reported_month
    left join last_run_month on clients.client_id = last_run_month.client_id
    left join as_of on clients.client_id = as_of.client_id
),

spined as (
    select
        bounds.client_id,
        months.report_month,
        {{ add_months('months.report_month', 1) }} as next_month,
        bounds.timezone,
        bounds.settle_days,
        bounds.as_of_at
    from bounds
    inner join months
        on months.report_month >= bounds.first_month
        and months.report_month <= bounds.last_month
)

select
    client_id,
    report_month,
    {{ add_days('next_month', -1) }} as month_end_date,
    {{ dbt.datediff('report_month', 'next_month', 'day') }} as days_in_month,
    {{ from_local('cast(report_month as timestamp)', 'timezone') }} as month_start_at,
    {{ from_local('cast(next_month as timestamp)', 'timezone') }} as month_end_at,
    {{ from_local('cast(' ~ add_days('next_month', 'settle_days') ~ ' as timestamp)', 'timezone') }} as settle_cutoff_at,
    as_of_at,
    coalesce(
        as_of_at >= {{ from_local('cast(' ~ add_days('next_month', 'settle_days') ~ ' as timestamp)', 'timezone') }},
        false
    ) as is_month_closed
from spined
