{#- "As of" of a client's data (docs/method.md): the earliest of its sources' as-of
    (int_source_as_of), never the wall clock, so the same inputs give the same report. A
    source that vouches for no time at all (dropped by hand, no extraction record, no dated
    record) leaves the client's as-of unknown (null): nothing says how fresh it is. -#}
with landed_files as (
    select * from {{ ref('stg_pipeline__landed_files') }}
),

sources as (
    select * from {{ ref('int_source_as_of') }}
),

clients as (
    select * from {{ ref('stg_config__clients') }}
),

per_client_files as (
    select
        client_id,
        sum(case when load_status = 'failed' then 1 else 0 end) as failed_files,
        sum(rows_quarantined) as quarantined_rows
    from landed_files
    group by client_id
),

earliest as (
    select
        client_id,
        case when count(as_of_at) = count(*) then min(as_of_at) end as as_of_at
    from sources
    group by client_id
),

lagging as (
    select
        sources.client_id,
        max(case when sources.as_of_basis = 'records' then 1 else 0 end) = 1 as is_from_records
    from sources
    inner join earliest
        on sources.client_id = earliest.client_id
        and sources.as_of_at = earliest.as_of_at
    group by sources.client_id
)

select
    clients.client_id,
    earliest.as_of_at,
    coalesce(lagging.is_from_records, false) as is_as_of_from_load_time,
    coalesce(per_client_files.failed_files, 0) as failed_files,
    coalesce(per_client_files.quarantined_rows, 0) as quarantined_rows
from clients
left join per_client_files on clients.client_id = per_client_files.client_id
left join earliest on clients.client_id = earliest.client_id
left join lagging on clients.client_id = lagging.client_id
