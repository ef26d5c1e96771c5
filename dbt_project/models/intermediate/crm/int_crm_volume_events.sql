{#- Every CRM record that can serve as a baseline volume event (a measured baseline's
    "task"), in one shape: the object it is, its local date, direction and owner. -#}
with contacts as (
    select * from {{ ref('stg_hubspot__contacts') }}
),

calls as (
    select * from {{ ref('stg_hubspot__calls') }}
),

emails as (
    select * from {{ ref('stg_hubspot__emails') }}
),

meetings as (
    select * from {{ ref('stg_hubspot__meetings') }}
),

deals as (
    select * from {{ ref('stg_hubspot__deals') }}
),

clients as (
    select * from {{ ref('stg_config__clients') }}
),

unioned as (
    select client_id, 'contacts' as volume_object, contact_id as object_id, contact_created_at as occurred_at,
        cast(null as varchar) as direction, owner_user_id, is_archived
    from contacts
    union all
    select client_id, 'calls', activity_id, occurred_at, direction, owner_user_id, is_archived
    from calls
    union all
    select client_id, 'emails', activity_id, occurred_at, direction, owner_user_id, is_archived
    from emails
    union all
    select client_id, 'meetings', activity_id, occurred_at, cast(null as varchar), owner_user_id, is_archived
    from meetings
    union all
    select client_id, 'deals', deal_id, deal_created_at, cast(null as varchar), owner_user_id, is_archived
    from deals
),

deduplicated as (
    -- the same record landed twice (overlapping extracts) is one event
    select distinct
        unioned.client_id,
        unioned.volume_object,
        unioned.object_id,
        unioned.occurred_at,
        unioned.direction,
        unioned.owner_user_id,
        {{ local_date('unioned.occurred_at', 'clients.timezone') }} as occurred_local_date
    from unioned
    inner join clients on unioned.client_id = clients.client_id
    where not unioned.is_archived and unioned.occurred_at is not null
)

select * from deduplicated
