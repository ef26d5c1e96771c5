with source as (
    select * from {{ source('toggl', 'toggl_time_entries') }}
)

select
    _client_id as client_id,
    'toggl' as timesheet_format,
    entry_key,
    start_date as work_date,
    user_name as person_name,
    duration_seconds / 3600.0 as hours_logged,
    client as client_field,
    project as project_field,
    task as task_field,
    cast(null as varchar) as notes_field,
    tags as tags_field,
    description as description_field,
    _source_file as source_file,
    _loaded_at as loaded_at
from source
