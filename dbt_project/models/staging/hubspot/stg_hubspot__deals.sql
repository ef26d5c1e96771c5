with source as (
    select * from {{ source('hubspot', 'hubspot_deals') }}
)

select
    _client_id as client_id,
    id as deal_id,
    amount as deal_amount,
    dealstage as deal_stage,
    pipeline as deal_pipeline,
    createdate as deal_created_at,
    closedate as deal_closed_at,
    coalesce(hs_is_closed_won, lower(dealstage) = 'closedwon') as is_closed_won,
    owner_id as owner_user_id,
    -- every property as landed (a measured baseline's volume filters read from it)
    {{ json_text('_record', 'properties') }} as properties_json,
    updated_at,
    coalesce(archived, false) as is_archived,
    _source_file as source_file,
    _loaded_at as loaded_at
from source
