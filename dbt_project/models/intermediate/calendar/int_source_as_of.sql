{#- "As of" per source (docs/method.md): a source is one landing folder of a client
    (n8n_executions, hubspot_contacts, harvest_time_entries, ...). A file vouches for the
    time of its extraction record (_extracts.json, written by the extractors or stated with
    `roi landed`), else for the latest record time it holds (a lower bound; never its load
    time). The source's as-of is the latest its files vouch for. A source the client's
    configuration reads (config_lists as_of_sources) with no file landed has none (basis
    'nothing landed'): the client's as-of, the earliest of its sources', is then unknown and
    no month closes (a quiet source needs its export time stated, docs/method.md). -#}
with landed_files as (
    select * from {{ ref('stg_pipeline__landed_files') }}
),

-- the sources the client's configuration reads that bound its as-of even with no file landed
-- (config.source_needs: timesheets, HubSpot contacts, volume objects)
configured as (
    select distinct
        client_id,
        list_value as source_name
    from {{ ref('stg_config__lists') }}
    where list_name = 'as_of_sources'
),

per_file as (
    select
        client_id,
        landing_format,
        extracted_at,
        coalesce(extracted_at, latest_record_at) as vouched_at
    from landed_files
),

landed as (
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
)

select * from landed

union all

-- a configured source with nothing landed vouches for no time: nothing closes without it
select
    configured.client_id,
    configured.source_name,
    0 as landed_files,
    cast(null as timestamp) as latest_extracted_at,
    cast(null as timestamp) as as_of_at,
    'nothing landed' as as_of_basis
from configured
left join landed
    on configured.client_id = landed.client_id
    and configured.source_name = landed.source_name
where landed.client_id is null
