{#- Canonical time-entry shape. The process / phase / consultancy columns are chosen per
    client in its configuration, so every candidate column is carried (lower-cased names
    as the export's headers in snake case) and int_time_entries_classified picks. -#}
with source as (
    select * from {{ source('harvest', 'harvest_time_entries') }}
)

select
    _client_id as client_id,
    'harvest' as timesheet_format,
    entry_key,
    spent_date as work_date,
    person as person_name,
    hours as hours_logged,
    client as client_field,
    project as project_field,
    task as task_field,
    notes as notes_field,
    cast(null as varchar) as tags_field,
    cast(null as varchar) as description_field,
    _source_file as source_file,
    _loaded_at as loaded_at
from source
