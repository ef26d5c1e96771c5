{#- One row per landed timesheet file of a client's export, in the order that decides which
    rows count (docs/landing.md, "A later file replaces earlier ones on the dates it covers"):
    by extraction time, then by file name; a file with no recorded extraction time cannot be
    shown to be later than one with it, so it sorts first. int_time_entries_classified reads
    the order; the mart gate names a file without an extraction time that a later file
    replaces on some of its dates (a hand-dropped correction that loses). -#}

select
    client_id,
    landing_format,
    source_file,
    extracted_at,
    covers_from,
    covers_to,
    row_number() over (
        partition by client_id, landing_format
        order by extracted_at asc nulls first, source_file asc
    ) as file_order
from {{ ref('stg_pipeline__landed_files') }}
where landing_format in ('harvest_time_entries', 'toggl_time_entries')
