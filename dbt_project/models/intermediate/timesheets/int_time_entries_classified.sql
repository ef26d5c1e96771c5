{#- One row per time entry of the client's configured timesheet export, deduplicated on
    its entry_key (the same entry re-exported in an overlapping file counts once), split
    into client-staff time (with its process) and consultancy time (with its phase), as
    the client's configuration says where to read each (ROI-METHOD.md, Timesheets). -#}
{{ config(materialized='table') }}

with harvest_entries as (
    select * from {{ ref('stg_harvest__time_entries') }}
),

toggl_entries as (
    select * from {{ ref('stg_toggl__time_entries') }}
),

clients as (
    select * from {{ ref('stg_config__clients') }}
),

consultancy_values as (
    select distinct
        client_id,
        lower(trim(list_value)) as consultancy_value
    from {{ ref('stg_config__lists') }}
    where list_name = 'consultancy_values'
),

unioned as (
    select * from harvest_entries
    union all
    select * from toggl_entries
),

deduplicated as (
    select
        *,
        row_number() over (
            partition by client_id, timesheet_format, entry_key
            order by loaded_at desc, source_file desc
        ) as copy_rank
    from unioned
),

picked as (
    select
        entries.client_id,
        entries.entry_key,
        entries.timesheet_format,
        entries.work_date,
        entries.person_name,
        entries.hours_logged,
        entries.source_file,
        {% for role in ['process', 'phase', 'consultancy'] -%}
        case clients.{{ role }}_field
            when 'client' then entries.client_field
            when 'project' then entries.project_field
            when 'task' then entries.task_field
            when 'notes' then entries.notes_field
            when 'tags' then entries.tags_field
            when 'description' then entries.description_field
        end as {{ role }}_value{{ ',' if not loop.last }}
        {% endfor %}
    from deduplicated as entries
    inner join clients
        on entries.client_id = clients.client_id
        -- only the export the client is configured for: its columns are what the mapping names
        and entries.timesheet_format = clients.timesheet_format
    where entries.copy_rank = 1
),

classified as (
    select
        picked.*,
        consultancy_values.consultancy_value is not null as is_consultancy
    from picked
    left join consultancy_values
        on picked.client_id = consultancy_values.client_id
        and lower(trim(picked.consultancy_value)) = consultancy_values.consultancy_value
)

select
    client_id,
    entry_key,
    timesheet_format,
    work_date,
    {{ month_of('work_date') }} as work_month,
    person_name,
    hours_logged,
    is_consultancy,
    case
        when not is_consultancy
            then lower(trim(regexp_replace(process_value, '\s+', ' ', 'g')))
    end as process_key,
    case
        when not is_consultancy then null
        when lower(phase_value) like '%build%' then 'build'
        when lower(phase_value) like '%operate%' then 'operate'
        when lower(phase_value) like '%expand%' then 'expand'
        else 'other'
    end as consultancy_phase,
    source_file
from classified
