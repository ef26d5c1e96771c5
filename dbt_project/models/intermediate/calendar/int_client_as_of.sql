{#- "As of" of a client's data: the latest extraction time recorded with its landed files
    (ROI-METHOD.md part 2: never the wall clock). Files dropped by hand without an
    _extracts.json entry have none; a client with none at all falls back to the latest
    load time, and says so. -#}
with landed_files as (
    select * from {{ ref('stg_pipeline__landed_files') }}
),

clients as (
    select * from {{ ref('stg_config__clients') }}
),

per_client as (
    select
        client_id,
        max(extracted_at) as latest_extracted_at,
        max(loaded_at) as latest_loaded_at,
        sum(case when load_status = 'failed' then 1 else 0 end) as failed_files,
        sum(rows_quarantined) as quarantined_rows
    from landed_files
    group by client_id
)

select
    clients.client_id,
    coalesce(per_client.latest_extracted_at, per_client.latest_loaded_at) as as_of_at,
    per_client.latest_extracted_at is null as is_as_of_from_load_time,
    coalesce(per_client.failed_files, 0) as failed_files,
    coalesce(per_client.quarantined_rows, 0) as quarantined_rows
from clients
left join per_client on clients.client_id = per_client.client_id
