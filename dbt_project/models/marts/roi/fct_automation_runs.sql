{#- Grain: one row per automation run (client, platform, run id), deduplicated.

    Incremental by partition replacement: a run with a report month (ROI_REPORT_MONTH) deletes and rebuilds
    exactly the runs started inside run_window_start()..run_window_end(), so a monthly
    run's cost follows that month's data, and re-running a month gives the same rows.
    Retry lookups reach 31 days before the window (a retry of an older run is classified
    as production when its original is out of reach), and every retry started after the
    window's start is read, so a failure late in the month whose retry succeeded in a later
    file is recovered; a successful retry of an already built month's failure makes that
    month pending (int_run_months_pending).
    Besides the report month, an incremental run rebuilds every client-month whose landed
    runs are not built yet (int_run_months_pending: a client onboarded into a populated
    warehouse, a late or re-delivered file of an earlier month): its runs are deleted and
    rebuilt by local month, so a backfill gives what a full build gives. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=[
            "{{ delete_partition(this, '(started_at >= ' ~ run_window_start() ~ ' and started_at < ' ~ run_window_end() ~ ')' ~ or_pending_months('client_id', 'run_month')) }}",
            "{{ avoid_nested_loops() }}"
        ]
    )
}}

-- depends_on: {{ ref('int_run_months_pending') }}

with n8n_executions as (
    select * from {{ ref('stg_n8n__executions') }}
    where (started_at >= {{ dbt.dateadd('day', -31, run_window_start()) }}
        and started_at < {{ run_window_end() }})
        {{- or_pending_windows('client_id', 'started_at', lookback_days=31) }}
        -- retries started after the window: a failed run in it whose direct retry succeeded
        -- later (the next month's file) is recovered, as in a full build
        or (retry_of_run_id is not null and (started_at >= {{ run_window_start() }}
            {{- or_pending_clients('client_id') }}))
),

generic_runs as (
    select * from {{ ref('stg_generic__runs') }}
    where (started_at >= {{ dbt.dateadd('day', -31, run_window_start()) }}
        and started_at < {{ run_window_end() }})
        {{- or_pending_windows('client_id', 'started_at', lookback_days=31) }}
        -- retries started after the window: a failed run in it whose direct retry succeeded
        -- later (the next month's file) is recovered, as in a full build
        or (retry_of_run_id is not null and (started_at >= {{ run_window_start() }}
            {{- or_pending_clients('client_id') }}))
),

workflow_ids as (
    select * from {{ ref('stg_config__workflow_ids') }}
),

workflows as (
    select * from {{ ref('stg_config__workflows') }}
),

clients as (
    select * from {{ ref('stg_config__clients') }}
),

unioned as (
    select * from n8n_executions
    union all
    select * from generic_runs
),

landed_files as (
    select client_id, source_file, extracted_at from {{ ref('stg_pipeline__landed_files') }}
),

deduplicated as (
    -- the same run landed in several files (overlapping extracts) counts once: the copy
    -- from the later extraction wins (run_copy_order); when nothing tells which copy is
    -- later, the raw gate holds the month (copies_undecided), so this pick is never published
    select
        unioned.*,
        landed_files.extracted_at,
        row_number() over (
            partition by unioned.client_id, unioned.platform, unioned.run_id
            order by {{ run_copy_order('landed_files.extracted_at', 'unioned.run_status') }},
                unioned.loaded_at desc, unioned.source_file desc, unioned.source_row_number desc
        ) as copy_rank
    from unioned
    left join landed_files
        on unioned.client_id = landed_files.client_id
        and unioned.source_file = landed_files.source_file
),

runs as (
    select * from deduplicated where copy_rank = 1
),

retry_links as (
    -- the runs that name the run they retry: the retry walk and the recovered flag need
    -- only these and the runs they name, not every run (a scan each, not one per step)
    select
        client_id,
        platform,
        run_id,
        run_trigger,
        retry_of_run_id,
        run_status
    from runs
    where retry_of_run_id is not null
),

retried_run_ids as (
    select distinct
        client_id,
        platform,
        retry_of_run_id as run_id
    from retry_links
),

originals as (
    -- the runs some run retries: every step of a retry chain is one of them
    select
        runs.client_id,
        runs.platform,
        runs.run_id,
        runs.run_trigger,
        runs.retry_of_run_id
    from runs
    inner join retried_run_ids
        on runs.client_id = retried_run_ids.client_id
        and runs.platform = retried_run_ids.platform
        and runs.run_id = retried_run_ids.run_id
),

retry_roots as (
    -- A retry counts when the chain of retries it belongs to started with a production run:
    -- walk up to four retries back to the first attempt (longer chains are not seen in
    -- practice; a chain whose start is out of reach counts as production, see below).
    select
        retries.client_id,
        retries.platform,
        retries.run_id,
        case
            when first_back.run_trigger is null then null
            when first_back.run_trigger <> 'retry' then first_back.run_trigger
            when second_back.run_trigger is null or second_back.run_trigger <> 'retry' then second_back.run_trigger
            when third_back.run_trigger is null or third_back.run_trigger <> 'retry' then third_back.run_trigger
            when fourth_back.run_trigger <> 'retry' then fourth_back.run_trigger
        end as root_trigger
    from retry_links as retries
    left join originals as first_back
        on retries.client_id = first_back.client_id
        and retries.platform = first_back.platform
        and retries.retry_of_run_id = first_back.run_id
    left join originals as second_back
        on first_back.client_id = second_back.client_id
        and first_back.platform = second_back.platform
        and first_back.retry_of_run_id = second_back.run_id
    left join originals as third_back
        on second_back.client_id = third_back.client_id
        and second_back.platform = third_back.platform
        and second_back.retry_of_run_id = third_back.run_id
    left join originals as fourth_back
        on third_back.client_id = fourth_back.client_id
        and third_back.platform = fourth_back.platform
        and third_back.retry_of_run_id = fourth_back.run_id
    where retries.run_trigger = 'retry'
),

successful_retries as (
    select distinct
        client_id,
        platform,
        retry_of_run_id as original_run_id
    from retry_links
    where run_status = 'success'
),

classified as (
    select
        runs.client_id,
        workflow_ids.workflow_key,
        runs.platform,
        runs.run_id,
        runs.platform_workflow_id,
        runs.started_at,
        runs.stopped_at,
        runs.run_status,
        runs.run_trigger,
        runs.retry_of_run_id,
        runs.items_processed,
        runs.llm_tokens,
        runs.llm_cost,
        runs.error_message,
        runs.source_file,
        runs.source_row_number,
        clients.timezone,
        workflows.go_live_date,
        workflows.retired_on_date,
        case
            when runs.run_status = 'success' then 'success'
            when runs.run_status in ('error', 'crashed', 'timeout') then 'failed'
            else 'other'
        end as status_class,
        case
            when runs.run_trigger in ('trigger', 'webhook', 'schedule', 'event') then true
            -- a retry counts when its chain started with a production run (or is out of reach)
            when runs.run_trigger = 'retry'
                then coalesce(retry_roots.root_trigger in ('trigger', 'webhook', 'schedule', 'event'), true)
            else false
        end as is_production,
        runs.retry_success_run_id is not null or successful_retries.original_run_id is not null as has_successful_retry
    from runs
    inner join clients on runs.client_id = clients.client_id
    left join workflow_ids
        on runs.client_id = workflow_ids.client_id
        and runs.platform = workflow_ids.platform
        and runs.platform_workflow_id = workflow_ids.platform_workflow_id
    left join workflows
        on workflow_ids.client_id = workflows.client_id
        and workflow_ids.workflow_key = workflows.workflow_key
    left join retry_roots
        on runs.client_id = retry_roots.client_id
        and runs.platform = retry_roots.platform
        and runs.run_id = retry_roots.run_id
    left join successful_retries
        on runs.client_id = successful_retries.client_id
        and runs.platform = successful_retries.platform
        and runs.run_id = successful_retries.original_run_id
),

dated as (
    select
        classified.*,
        {{ local_date('started_at', 'timezone') }} as started_local_date
    from classified
),

lived as (
    -- a run counts only on a live day of its workflow: before go-live it is building and
    -- testing, on or after retirement it is not the workflow's (docs/method.md, Live)
    select
        dated.*,
        started_local_date >= go_live_date
            and (retired_on_date is null or started_local_date < retired_on_date) as is_on_live_day
    from dated
),

final as (
    select
        client_id,
        workflow_key,
        platform,
        run_id,
        client_id || '|' || platform || '|' || run_id as run_key,
        platform_workflow_id,
        started_at,
        stopped_at,
        started_local_date,
        {{ month_of('started_local_date') }} as run_month,
        run_status,
        status_class,
        run_trigger,
        is_production,
        is_on_live_day,
        status_class = 'failed' and has_successful_retry as is_recovered,
        retry_of_run_id,
        items_processed,
        -- what the run adds to its workflow's tasks automated, so tasks.csv adds up to it
        case
            when status_class = 'success' and is_production and is_on_live_day then coalesce(items_processed, 1)
            else 0
        end as tasks_counted,
        case
            when stopped_at is not null then {{ seconds_between('started_at', 'stopped_at') }}
        end as duration_seconds,
        llm_tokens,
        coalesce(llm_cost, 0) as llm_cost,
        error_message,
        source_file,
        source_row_number
    from lived
)

select * from final
where (started_at >= {{ run_window_start() }}
    and started_at < {{ run_window_end() }})
    {{- or_pending_months('client_id', 'run_month') }}
