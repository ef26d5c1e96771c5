with source as (
    select * from {{ source('hubspot', 'hubspot_contacts') }}
)

select
    _client_id as client_id,
    id as contact_id,
    createdate as contact_created_at,
    updated_at,
    owner_id as owner_user_id,
    lifecyclestage as lifecycle_stage,
    properties_json,
    coalesce(archived, false) as is_archived,
    _source_file as source_file,
    _loaded_at as loaded_at
from source
