{#- Every CRM record that can serve as a baseline volume event (a measured baseline's
    "task"), in one shape: the object it is, its local date, direction, owner and every
    property as landed (properties_json: a volume source's filters and timestamp property
    are read from it per workflow in int_workflow_baselines). -#}
with contacts as (
    select * from {{ ref('stg_hubspot__contacts') }}
),

deals as (
    select * from {{ ref('stg_hubspot__deals') }}
),

engagements as (
    {{ hubspot_engagements() }}
),

clients as (
    select * from {{ ref('stg_config__clients') }}
),

objects_landed as (
    select
        client_id,
        'contacts' as volume_object,
        contact_id as object_id,
        contact_created_at as occurred_at,
        owner_user_id,
        properties_json,
        is_archived,
        updated_at,
        loaded_at,
        source_file
    from contacts
    union all
    select
        client_id,
        'deals' as volume_object,
        deal_id as object_id,
        deal_created_at as occurred_at,
        owner_user_id,
        properties_json,
        is_archived,
        updated_at,
        loaded_at,
        source_file
    from deals
),

objects_ranked as (
    -- the same record landed in several files counts once, in its latest version
    select
        *,
        {{ latest_version_rank('client_id, volume_object, object_id') }} as version_rank
    from objects_landed
),

-- engagements are already one row each in their latest version, archived ones left out
versions as (
    select
        client_id,
        volume_object,
        object_id,
        occurred_at,
        cast(null as varchar) as direction,
        owner_user_id,
        properties_json
    from objects_ranked
    where version_rank = 1
        and not is_archived
    union all
    select
        client_id,
        -- the volume object is the plural of the activity type: calls, emails, meetings
        {{ dbt.concat(['activity_type', "'s'"]) }} as volume_object,
        activity_id as object_id,
        occurred_at,
        direction,
        owner_user_id,
        properties_json
    from engagements
),

latest as (
    select
        versions.client_id,
        versions.volume_object,
        versions.object_id,
        versions.occurred_at,
        versions.direction,
        versions.owner_user_id,
        versions.properties_json,
        {{ local_date('versions.occurred_at', 'clients.timezone') }} as occurred_local_date
    from versions
    inner join clients on versions.client_id = clients.client_id
    where versions.occurred_at is not null
)

select
    client_id || '|' || volume_object || '|' || object_id as volume_event_key,
    *
from latest
