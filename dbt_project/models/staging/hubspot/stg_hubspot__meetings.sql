with source as (
    select * from {{ source('hubspot', 'hubspot_meetings') }}
)

select
    _client_id as client_id,
    id as activity_id,
    'meeting' as activity_type,
    hs_timestamp as occurred_at,
    hs_meeting_outcome as meeting_outcome,
    owner_id as owner_user_id,
    -- every property as landed (a measured baseline's volume filters read from it)
    {{ json_text('_record', 'properties') }} as properties_json,
    updated_at,
    coalesce(archived, false) as is_archived,
    _source_file as source_file,
    _loaded_at as loaded_at
from source
