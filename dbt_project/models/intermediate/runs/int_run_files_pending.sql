{#- Grain: one row per run-log file whose landed version is not the one the runs fact was
    last built from (new, reloaded, or no longer landed), with the local months its rows
    cover now and covered when last built. The built versions are the ledger
    int_run_files_built, written after the runs models at the end of every build; it is
    read here as this model's own previous state (by name, not ref(): it is downstream).
    Without a ledger (first build, or a warehouse from before it existed) and on a full
    refresh every landed file is pending. -#}
{{ config(materialized='table') }}

{%- set ledger = adapter.get_relation(database=this.database, schema=this.schema, identifier='int_run_files_built')
    if execute else none %}
{%- set ledger_usable = ledger is not none and not flags.FULL_REFRESH %}
{#- a ledger from before it recorded the register it was built with: every file is pending once #}
{%- set ledger_has_config = ledger_usable and (adapter.get_columns_in_relation(ledger)
    | selectattr('name', 'equalto', 'run_config_sha256') | list | length > 0) %}

with run_config as (
    -- what the runs models read of a client's configuration: its zone (local dates and
    -- months), which platform workflow is which register entry, and each entry's live days.
    -- An edit to any of it (a go-live moved, an id added) changes every built month of the
    -- client, so all its run-log files are pending again.
    select
        client_id,
        md5(string_agg(part, '|' order by part)) as run_config_sha256
    from (
        select client_id, 'zone:' || timezone as part
        from {{ ref('stg_config__clients') }}
        union all
        select client_id, 'id:' || platform || ':' || platform_workflow_id || '>' || workflow_key as part
        from {{ ref('stg_config__workflow_ids') }}
        union all
        select
            client_id,
            'live:' || workflow_key || ':' || coalesce(cast(go_live_date as varchar), '')
            || ':' || coalesce(cast(retired_on_date as varchar), '') as part
        from {{ ref('stg_config__workflows') }}
    ) as parts
    group by client_id
),

landed as (
    select
        files.*,
        coalesce(run_config.run_config_sha256, '') as run_config_sha256
    from {{ ref('int_run_files_landed') }} as files
    left join run_config on files.client_id = run_config.client_id
),

built as (
    {%- if ledger_usable %}
    select
        client_id,
        source_file,
        run_file_key,
        file_sha256,
        loaded_at,
        first_run_month,
        last_run_month,
        {% if ledger_has_config %}run_config_sha256{% else %}cast(null as varchar) as run_config_sha256{% endif %}
    from {{ ledger }}
    {%- else %}
    select
        cast(null as varchar) as client_id,
        cast(null as varchar) as source_file,
        cast(null as varchar) as run_file_key,
        cast(null as varchar) as file_sha256,
        cast(null as timestamp) as loaded_at,
        cast(null as date) as first_run_month,
        cast(null as date) as last_run_month,
        cast(null as varchar) as run_config_sha256
    where 1 = 0
    {%- endif %}
),

changed as (
    select
        landed.client_id,
        landed.source_file,
        landed.run_file_key,
        landed.file_sha256,
        landed.loaded_at,
        landed.run_config_sha256
    from landed
    left join built
        on landed.run_file_key = built.run_file_key
        and landed.file_sha256 = built.file_sha256
        and landed.loaded_at = built.loaded_at
        and landed.run_config_sha256 = built.run_config_sha256
    where built.run_file_key is null
),

vanished as (
    -- built from a file raw no longer lists (a reset raw layer): its months are rebuilt
    select
        built.client_id,
        built.source_file,
        built.run_file_key
    from built
    left join landed on built.run_file_key = landed.run_file_key
    where landed.run_file_key is null
),

file_runs as (
    select
        client_id,
        source_file,
        started_at
    from {{ ref('stg_n8n__executions') }}
    where source_file in (select source_file from changed)
    union all
    select
        client_id,
        source_file,
        started_at
    from {{ ref('stg_generic__runs') }}
    where source_file in (select source_file from changed)
),

clients as (
    select * from {{ ref('stg_config__clients') }}
),

file_spans as (
    select
        file_runs.client_id,
        file_runs.source_file,
        clients.timezone,
        min(file_runs.started_at) as first_started_at,
        max(file_runs.started_at) as last_started_at
    from file_runs
    inner join clients on file_runs.client_id = clients.client_id
    group by file_runs.client_id, file_runs.source_file, clients.timezone
),

pending as (
    select
        client_id,
        source_file,
        run_file_key,
        file_sha256,
        loaded_at,
        run_config_sha256
    from changed
    union all
    select
        client_id,
        source_file,
        run_file_key,
        cast(null as varchar) as file_sha256,
        cast(null as timestamp) as loaded_at,
        cast(null as varchar) as run_config_sha256
    from vanished
)

select
    pending.client_id,
    pending.source_file,
    pending.run_file_key,
    pending.file_sha256,
    pending.loaded_at,
    pending.run_config_sha256,
    {{ month_of(local_date('file_spans.first_started_at', 'file_spans.timezone')) }} as first_run_month,
    {{ month_of(local_date('file_spans.last_started_at', 'file_spans.timezone')) }} as last_run_month,
    built.first_run_month as built_first_run_month,
    built.last_run_month as built_last_run_month
from pending
left join file_spans
    on pending.client_id = file_spans.client_id
    and pending.source_file = file_spans.source_file
left join built on pending.run_file_key = built.run_file_key
