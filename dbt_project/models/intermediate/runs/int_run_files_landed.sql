{#- One row per landed run-log file (n8n executions, generic run logs, Make scenario logs, Zapier Zap runs) as raw holds it now:
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
where landing_format in ('n8n_executions', 'generic_runs', 'make_scenario_logs', 'zapier_zap_runs')
