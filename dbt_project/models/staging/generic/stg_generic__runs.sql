with source as (
    select * from {{ source('generic', 'generic_runs') }}
)

select
    _client_id as client_id,
    platform,
    run_id,
    workflow_id as platform_workflow_id,
    started_at,
    finished_at as stopped_at,
    status as run_status,
    triggered_by as run_trigger,
    retry_of as retry_of_run_id,
    cast(null as varchar) as retry_success_run_id,
    items as items_processed,
    coalesce(llm_tokens_in, 0) + coalesce(llm_tokens_out, 0) as llm_tokens,
    llm_cost,
    error_message,
    _source_file as source_file,
    _row_number as source_row_number,
    _loaded_at as loaded_at
from source
