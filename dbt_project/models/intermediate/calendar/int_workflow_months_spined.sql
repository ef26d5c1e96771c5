{#- One row per workflow and month in which it is live (docs/method.md: go-live <= last day
    of M and retired_on after the first day of M), with its live days in the month:
    days on or after go-live and before retired_on; "elapsed" stops at the data's as-of
    day for a month still in progress. -#}
{{ config(materialized='table') }}

with client_months as (
    select * from {{ ref('int_client_months_spined') }}
),

workflows as (
    select * from {{ ref('stg_config__workflows') }}
),

clients as (
    select * from {{ ref('stg_config__clients') }}
),

live as (
    select
        client_months.client_id,
        workflows.workflow_key,
        client_months.report_month,
        client_months.month_end_date,
        client_months.as_of_at,
        clients.timezone,
        workflows.go_live_date,
        workflows.retired_on_date,
        greatest(client_months.report_month, workflows.go_live_date) as first_live_date,
        case
            when workflows.retired_on_date is not null
                and workflows.retired_on_date <= client_months.month_end_date
                then {{ add_days('workflows.retired_on_date', -1) }}
            else client_months.month_end_date
        end as last_live_date
    from client_months
    inner join workflows on client_months.client_id = workflows.client_id
    inner join clients on client_months.client_id = clients.client_id
    where workflows.go_live_date <= client_months.month_end_date
        -- retired on the 1st of M: its last live day is in M-1, so no row in M (docs/method.md §2)
        and (workflows.retired_on_date is null or workflows.retired_on_date > client_months.report_month)
),

bounded as (
    select
        *,
        case
            when as_of_at is null then last_live_date
            else least(last_live_date, {{ local_date('as_of_at', 'timezone') }})
        end as last_elapsed_live_date
    from live
)

select
    client_id,
    workflow_key,
    report_month,
    client_id || '|' || workflow_key || '|' || cast(report_month as varchar) as workflow_month_key,
    first_live_date,
    last_live_date,
    greatest({{ dbt.datediff('first_live_date', 'last_live_date', 'day') }} + 1, 0) as live_days,
    greatest({{ dbt.datediff('first_live_date', 'last_elapsed_live_date', 'day') }} + 1, 0) as live_days_elapsed,
    -- the same in days and fractions of a day: the as-of day counts by the part of it that has
    -- elapsed (its local time of day), so a mid-month pace is not diluted by hours still to come
    case
        when as_of_at is null or {{ local_date('as_of_at', 'timezone') }} > last_live_date
            then cast(greatest({{ dbt.datediff('first_live_date', 'last_live_date', 'day') }} + 1, 0) as double precision)
        when {{ local_date('as_of_at', 'timezone') }} < first_live_date then cast(0 as double precision)
        else {{ dbt.datediff('first_live_date', local_date('as_of_at', 'timezone'), 'day') }}
            + {{ seconds_between(
                'cast(' ~ local_date('as_of_at', 'timezone') ~ ' as timestamp)', to_local('as_of_at', 'timezone')
            ) }} / 86400.0
    end as live_time_elapsed_days
from bounded
