with source as (
    select * from {{ source('n8n', 'n8n_executions') }}
)

select
    _client_id as client_id,
    'n8n' as platform,
    id as run_id,
    workflow_id as platform_workflow_id,
    started_at,
    stopped_at,
    status as run_status,
    mode as run_trigger,
    retry_of as retry_of_run_id,
    retry_success_id as retry_success_run_id,
    items as items_processed,
    llm_tokens,
    llm_cost,
    cast(null as varchar) as error_message,
    _source_file as source_file,
    _row_number as source_row_number,
    _loaded_at as loaded_at
from source
