{#- One row per landed run-log file (n8n executions, generic run logs) as raw holds it now:
    its checksum and load time identify the version whose rows raw.* holds. -#}
with landed_files as (
    select * from {{ ref('stg_pipeline__landed_files') }}
)

select
    client_id,
    source_file,
    client_id || '|' || source_file as run_file_key,
    file_sha256,
    loaded_at
from landed_files
where landing_format in ('n8n_executions', 'generic_runs')
