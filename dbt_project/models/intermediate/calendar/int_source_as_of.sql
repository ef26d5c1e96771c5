{#- "As of" per source (docs/method.md): a source is one landing folder of a client
    (n8n_executions, hubspot_contacts, harvest_time_entries, ...). A file vouches for the
    time of its extraction record (_extracts.json, written by the extractors or stated with
    `roi landed`), else for the latest record time it holds (a lower bound; never its load
    time). The source's as-of is the latest its files vouch for. -#}
with landed_files as (
    select * from {{ ref('stg_pipeline__landed_files') }}
),

per_file as (
    select
        client_id,
        landing_format,
        extracted_at,
        coalesce(extracted_at, latest_record_at) as vouched_at
    from landed_files
)

select
    client_id,
    landing_format as source_name,
    count(*) as landed_files,
    max(extracted_at) as latest_extracted_at,
    max(vouched_at) as as_of_at,
    case
        when max(vouched_at) is null then 'unknown'
        when max(extracted_at) = max(vouched_at) then 'extraction'
        else 'records'
    end as as_of_basis
from per_file
group by client_id, landing_format
