{#- Grain: one row per run-log file version the runs models have been built from, with the
    local months of its rows: the ledger int_run_files_pending compares raw with. Written
    last (after fct_automation_runs and int_workflow_run_months), so a build that fails
    before it leaves its files pending and the next build rebuilds their months again.
    Incremental: a build replaces the rows of the files pending at its start. Each row keeps
    the digest of the client's register the runs were built with (run_config_sha256), so an
    edit to it makes the client's files pending again; a ledger from before that column
    gains it (append_new_columns) and is rebuilt once. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ delete_partition(this, 'run_file_key in (select run_file_key from ' ~ ref('int_run_files_pending') ~ ')') }}"
    )
}}

-- depends_on: {{ ref('int_workflow_run_months') }}

with pending_files as (
    select * from {{ ref('int_run_files_pending') }}
)

select
    client_id,
    source_file,
    run_file_key,
    file_sha256,
    loaded_at,
    first_run_month,
    last_run_month,
    run_config_sha256
from pending_files
where file_sha256 is not null
