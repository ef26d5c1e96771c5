{#- One row per (CRM activity, associated contact): emails, calls and meetings with who
    performed them, whether they count as a lead response and whether an automation
    performed them. Engagements come through hubspot_engagements (latest version, archived
    ones left out); associations are read from both sides (activity -> contact and
    contact -> activity) and deduplicated.
    A table, not a view: both KPI marts read it five times, and as a view PostgreSQL
    misestimates its joins (one row instead of tens of thousands) and plans nested loops
    that take minutes. -#}
{{ config(materialized='table') }}

with engagements as (
    {{ hubspot_engagements() }}
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

-- A response is an outbound email, an outbound call or any meeting; a meeting's
-- direction column carries its outcome.
activities as (
    select
        client_id,
        activity_id,
        activity_type,
        occurred_at,
        owner_user_id,
        case when activity_type = 'meeting' then meeting_outcome else direction end as direction,
        coalesce(
            case activity_type
                when 'email' then direction = 'EMAIL'
                when 'call' then direction = 'OUTBOUND'
                when 'meeting' then true
            end,
            false
        ) as is_outbound_response
    from engagements
),

associations_from_activity as (
    select
        client_id,
        {{ hubspot_activity_type('from_object_type') }} as activity_type,
        from_object_id as activity_id,
        to_object_id as contact_id
    from associations
    where {{ hubspot_is_contact('to_object_type') }}
),

associations_from_contact as (
    select
        client_id,
        {{ hubspot_activity_type('to_object_type') }} as activity_type,
        to_object_id as activity_id,
        from_object_id as contact_id
    from associations
    where {{ hubspot_is_contact('from_object_type') }}
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
