{#- One row per (CRM activity, associated contact): emails, calls and meetings with who
    performed them, whether they count as a lead response and whether an automation
    performed them. Associations are read from both sides (activity -> contact and
    contact -> activity) and deduplicated; archived activities are left out.
    A table, not a view: both KPI marts read it five times, and as a view PostgreSQL
    misestimates its joins (one row instead of tens of thousands) and plans nested loops
    that take minutes. -#}
{{ config(materialized='table') }}

with emails as (
    select * from {{ ref('stg_hubspot__emails') }}
),

calls as (
    select * from {{ ref('stg_hubspot__calls') }}
),

meetings as (
    select * from {{ ref('stg_hubspot__meetings') }}
),

associations as (
    select * from {{ ref('stg_hubspot__associations') }}
),

clients as (
    select * from {{ ref('stg_config__clients') }}
),

config_lists as (
    select * from {{ ref('stg_config__lists') }}
),

activities_landed as (
    select
        client_id,
        activity_id,
        activity_type,
        occurred_at,
        owner_user_id,
        direction,
        direction = 'EMAIL' as is_outbound_response,
        is_archived,
        updated_at,
        loaded_at,
        source_file
    from emails

    union all

    select
        client_id,
        activity_id,
        activity_type,
        occurred_at,
        owner_user_id,
        direction,
        direction = 'OUTBOUND' as is_outbound_response,
        is_archived,
        updated_at,
        loaded_at,
        source_file
    from calls

    union all

    select
        client_id,
        activity_id,
        activity_type,
        occurred_at,
        owner_user_id,
        meeting_outcome as direction,
        true as is_outbound_response,
        is_archived,
        updated_at,
        loaded_at,
        source_file
    from meetings
),

-- The same record landed in overlapping files counts once: keep its latest version.
activities_ranked as (
    select
        activities_landed.*,
        {{ latest_version_rank('client_id, activity_type, activity_id') }} as version_rank
    from activities_landed
),

activities as (
    select
        client_id,
        activity_id,
        activity_type,
        occurred_at,
        owner_user_id,
        direction,
        coalesce(is_outbound_response, false) as is_outbound_response
    from activities_ranked
    where version_rank = 1
        and not is_archived
),

-- HubSpot object types are plural in the landed associations ('emails'); accept the
-- singular too so a differently shaped export does not silently lose its associations.
associations_from_activity as (
    select
        client_id,
        case
            when lower(from_object_type) in ('emails', 'email') then 'email'
            when lower(from_object_type) in ('calls', 'call') then 'call'
            when lower(from_object_type) in ('meetings', 'meeting') then 'meeting'
        end as activity_type,
        from_object_id as activity_id,
        to_object_id as contact_id
    from associations
    where lower(to_object_type) in ('contacts', 'contact')
),

associations_from_contact as (
    select
        client_id,
        case
            when lower(to_object_type) in ('emails', 'email') then 'email'
            when lower(to_object_type) in ('calls', 'call') then 'call'
            when lower(to_object_type) in ('meetings', 'meeting') then 'meeting'
        end as activity_type,
        to_object_id as activity_id,
        from_object_id as contact_id
    from associations
    where lower(from_object_type) in ('contacts', 'contact')
),

-- `union` (not `union all`): a pair stored from both sides, or landed twice, counts once.
activity_contacts as (
    select client_id, activity_type, activity_id, contact_id
    from associations_from_activity
    where activity_type is not null

    union

    select client_id, activity_type, activity_id, contact_id
    from associations_from_contact
    where activity_type is not null
),

automation_users as (
    select distinct
        client_id,
        list_value as owner_user_id
    from config_lists
    where list_name = 'automation_user_ids'
),

final as (
    select
        {{ dbt.concat([
            'activities.client_id', "'|'", 'activities.activity_type', "'|'",
            'activities.activity_id', "'|'", 'activity_contacts.contact_id'
        ]) }} as activity_contact_key,
        activities.client_id,
        activities.activity_id,
        activities.activity_type,
        activities.occurred_at,
        {{ local_date('activities.occurred_at', 'clients.timezone') }} as occurred_local_date,
        activities.owner_user_id,
        activities.direction,
        activities.is_outbound_response,
        automation_users.owner_user_id is not null as is_automated,
        activity_contacts.contact_id
    from activities
    inner join activity_contacts
        on activities.client_id = activity_contacts.client_id
        and activities.activity_type = activity_contacts.activity_type
        and activities.activity_id = activity_contacts.activity_id
    inner join clients
        on activities.client_id = clients.client_id
    left join automation_users
        on activities.client_id = automation_users.client_id
        and activities.owner_user_id = automation_users.owner_user_id
)

select * from final
