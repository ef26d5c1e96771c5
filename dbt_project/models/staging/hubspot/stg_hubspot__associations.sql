with source as (
    select * from {{ source('hubspot', 'hubspot_associations') }}
)

select
    _client_id as client_id,
    object_type as from_object_type,
    object_id as from_object_id,
    to_object_type,
    to_object_id,
    association_type,
    _source_file as source_file
from source
