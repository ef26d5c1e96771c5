{#- One row per time entry of the client's configured timesheet export, split into
    client-staff time (with its process) and consultancy time (with its phase), as the
    client's configuration says where to read each (docs/method.md, Timesheets).

    Which rows count (docs/method.md, "Timesheet rows have no id"), decided here only:
    every file covers a date range (recorded by ingestion in raw._landed_files); files are
    ordered by extraction time, then by file name, a file without an extraction time first;
    a row counts only when no later file of the same export covers its date, so a corrected
    re-export replaces every earlier row on its dates (changed and deleted entries included)
    and identical rows within one file stay distinct entries. Entries of API extracts carry
    the vendor's id in their entry_key: the same id in two remaining files counts once, from
    the later file. -#}
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

timesheet_files as (
    select * from {{ ref('int_timesheet_files') }}
),

current_rows as (
    select
        unioned.*,
        own_file.file_order
    from unioned
    inner join timesheet_files as own_file
        on
            unioned.client_id = own_file.client_id
            and unioned.source_file = own_file.source_file
    where not exists (
        select 1
        from timesheet_files as later_file
        where
            later_file.client_id = own_file.client_id
            and later_file.landing_format = own_file.landing_format
            and later_file.file_order > own_file.file_order
            and unioned.work_date between later_file.covers_from and later_file.covers_to
    )
),

deduplicated as (
    select
        *,
        row_number() over (
            partition by client_id, timesheet_format, entry_key
            order by file_order desc
        ) as copy_rank
    from current_rows
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
            then {{ process_key('process_value') }}
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
