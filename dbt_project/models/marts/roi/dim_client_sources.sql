{#- Grain: one row per client and source (landing folder): its "as of" and its basis. -#}
with sources as (
    select * from {{ ref('int_source_as_of') }}
)

select
    client_id,
    source_name,
    landed_files,
    latest_extracted_at,
    as_of_at,
    as_of_basis
from sources
