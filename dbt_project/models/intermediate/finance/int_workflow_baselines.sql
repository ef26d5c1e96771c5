{#- One row per workflow: its baseline window and the minutes per task it establishes.

    Window (docs/method.md): the workflow's baseline_days (its own window_days,
    else the client's) ending the day before go-live, clipped at the start to the client's
    earliest client-staff timesheet entry (consultancy rows say nothing about the staff's
    manual work). Measured minutes per task = 60 x staff hours on the process in the window
    / volume events in the window; valid with >= 28 days and >= 20 events.

    Volume events (docs/method.md §2, Minutes per task): records of the volume object, narrowed by direction, owner ids
    and property filters (every filtered property must hold one of its listed values, exact
    text as landed; a record without the property does not count), placed by the local date
    of the volume's timestamp property (null: the object's own time). A record whose
    timestamp property is missing or unreadable is not placed, so not counted. -#}
{{ config(materialized='table') }}

with workflows as (
    select * from {{ ref('stg_config__workflows') }}
),

clients as (
    select * from {{ ref('stg_config__clients') }}
),

time_entries as (
    select * from {{ ref('int_time_entries_classified') }}
),

volume_events as (
    select * from {{ ref('int_crm_volume_events') }}
),

volume_owner_lists as (
    select * from {{ ref('stg_config__lists') }}
    where list_name like 'volume_owner_ids:%'
),

-- 'volume_filter:<workflow_key>:<property>' -> one row per accepted value
volume_filters as (
    select
        client_id,
        split_part(list_name, ':', 2) as workflow_key,
        split_part(list_name, ':', 3) as property_name,
        list_value
    from {{ ref('stg_config__lists') }}
    where list_name like 'volume_filter:%'
),

volume_filter_counts as (
    select
        client_id,
        workflow_key,
        count(distinct property_name) as filters_required
    from volume_filters
    group by client_id, workflow_key
),

earliest_staff_entry as (
    select
        client_id,
        min(work_date) as earliest_staff_entry_date
    from time_entries
    where not is_consultancy
    group by client_id
),

windows as (
    select
        workflows.client_id,
        workflows.workflow_key,
        workflows.process_key,
        workflows.configured_baseline_method,
        workflows.volume_object,
        workflows.volume_direction,
        workflows.volume_timestamp_property,
        clients.timezone,
        {{ add_days('workflows.go_live_date', '-1') }} as window_end_date,
        {{ add_days('workflows.go_live_date', '-workflows.baseline_days') }} as configured_window_start_date,
        greatest(
            {{ add_days('workflows.go_live_date', '-workflows.baseline_days') }},
            coalesce(earliest_staff_entry.earliest_staff_entry_date, workflows.go_live_date)
        ) as window_start_date
    from workflows
    inner join clients on workflows.client_id = clients.client_id
    left join earliest_staff_entry on workflows.client_id = earliest_staff_entry.client_id
),

staff_hours as (
    select
        windows.client_id,
        windows.workflow_key,
        {{ exact_sum('time_entries.hours_logged') }} as baseline_staff_hours
    from windows
    inner join time_entries
        on windows.client_id = time_entries.client_id
        and windows.process_key = time_entries.process_key
        and time_entries.work_date >= windows.window_start_date
        and time_entries.work_date <= windows.window_end_date
    where not time_entries.is_consultancy
    group by windows.client_id, windows.workflow_key
),

volume_candidates as (
    -- records of the volume object with the right direction and owner, placed by the
    -- workflow's timestamp property
    select
        windows.client_id,
        windows.workflow_key,
        windows.window_start_date,
        windows.window_end_date,
        volume_events.object_id,
        volume_events.properties_json,
        case
            when windows.volume_timestamp_property is null then volume_events.occurred_local_date
            else {{ local_date(
                text_instant(json_text_at('volume_events.properties_json', 'windows.volume_timestamp_property'), 'windows.timezone'),
                'windows.timezone'
            ) }}
        end as placed_local_date
    from windows
    inner join volume_events
        on windows.client_id = volume_events.client_id
        and windows.volume_object = volume_events.volume_object
        and (windows.volume_direction is null or upper(volume_events.direction) = windows.volume_direction)
    left join volume_owner_lists
        on windows.client_id = volume_owner_lists.client_id
        and volume_owner_lists.list_name = 'volume_owner_ids:' || windows.workflow_key
        and volume_events.owner_user_id = volume_owner_lists.list_value
    where
        volume_owner_lists.list_value is not null
        or not exists (
            select 1 from volume_owner_lists as any_owner
            where any_owner.client_id = windows.client_id
                and any_owner.list_name = 'volume_owner_ids:' || windows.workflow_key
        )
),

volume_in_window as (
    select *
    from volume_candidates
    where placed_local_date >= window_start_date
        and placed_local_date <= window_end_date
),

volume_filter_matches as (
    select
        volume_in_window.client_id,
        volume_in_window.workflow_key,
        volume_in_window.object_id,
        count(distinct volume_filters.property_name) as filters_matched
    from volume_in_window
    inner join volume_filters
        on volume_in_window.client_id = volume_filters.client_id
        and volume_in_window.workflow_key = volume_filters.workflow_key
        and {{ json_text_at('volume_in_window.properties_json', 'volume_filters.property_name') }}
        = volume_filters.list_value
    group by volume_in_window.client_id, volume_in_window.workflow_key, volume_in_window.object_id
),

volume as (
    select
        volume_in_window.client_id,
        volume_in_window.workflow_key,
        count(distinct volume_in_window.object_id) as baseline_volume_events
    from volume_in_window
    left join volume_filter_counts
        on volume_in_window.client_id = volume_filter_counts.client_id
        and volume_in_window.workflow_key = volume_filter_counts.workflow_key
    left join volume_filter_matches
        on volume_in_window.client_id = volume_filter_matches.client_id
        and volume_in_window.workflow_key = volume_filter_matches.workflow_key
        and volume_in_window.object_id = volume_filter_matches.object_id
    where coalesce(volume_filter_matches.filters_matched, 0) = coalesce(volume_filter_counts.filters_required, 0)
    group by volume_in_window.client_id, volume_in_window.workflow_key
),

measured as (
    select
        windows.*,
        greatest({{ dbt.datediff('window_start_date', 'window_end_date', 'day') }} + 1, 0) as window_days,
        coalesce(staff_hours.baseline_staff_hours, 0) as baseline_staff_hours,
        coalesce(volume.baseline_volume_events, 0) as baseline_volume_events
    from windows
    left join staff_hours
        on windows.client_id = staff_hours.client_id
        and windows.workflow_key = staff_hours.workflow_key
    left join volume
        on windows.client_id = volume.client_id
        and windows.workflow_key = volume.workflow_key
)

select
    client_id,
    workflow_key,
    configured_baseline_method,
    window_start_date,
    window_end_date,
    window_days,
    baseline_staff_hours,
    baseline_volume_events,
    case
        when configured_baseline_method = 'measured' and baseline_volume_events > 0
            then 60.0 * baseline_staff_hours / baseline_volume_events
    end as measured_minutes_per_task,
    configured_baseline_method = 'measured'
        and window_days >= 28
        and baseline_volume_events >= 20 as is_measured_valid
from measured
