{#- One row per lead: a non-archived HubSpot contact, kept when the client configures no
    lead filter, or when the contact's property named in stg_config__clients.lead_filter_property
    holds one of the client's 'lead_filter_values'. Creation is placed on the client's local
    calendar (docs/method.md: a lead belongs to the local date of its timestamp).

    The filter property is data (one per client), read from properties_json with
    json_text_at, so the model needs no query at compile time. -#}

with contacts as (
    select * from {{ ref('stg_hubspot__contacts') }}
),

clients as (
    select * from {{ ref('stg_config__clients') }}
),

config_lists as (
    select * from {{ ref('stg_config__lists') }}
),

-- The same record landed in overlapping files counts once: keep its latest version.
contacts_ranked as (
    select
        contacts.*,
        {{ latest_version_rank('client_id, contact_id') }} as version_rank
    from contacts
),

contacts_current as (
    select
        contacts_ranked.client_id,
        contacts_ranked.contact_id,
        contacts_ranked.contact_created_at,
        contacts_ranked.owner_user_id,
        contacts_ranked.lifecycle_stage,
        clients.timezone,
        clients.lead_filter_property,
        case
            when clients.lead_filter_property is not null
                then {{ json_text_at('contacts_ranked.properties_json', 'clients.lead_filter_property') }}
        end as lead_filter_value
    from contacts_ranked
    inner join clients
        on contacts_ranked.client_id = clients.client_id
    where contacts_ranked.version_rank = 1
        and not contacts_ranked.is_archived
        -- a contact without a creation time cannot be placed in a month
        and contacts_ranked.contact_created_at is not null
),

lead_filter_values as (
    select distinct
        client_id,
        list_value as lead_filter_value
    from config_lists
    where list_name = 'lead_filter_values'
),

leads as (
    select
        contacts_current.client_id,
        contacts_current.contact_id,
        contacts_current.contact_created_at,
        contacts_current.timezone,
        contacts_current.owner_user_id,
        contacts_current.lifecycle_stage,
        contacts_current.lead_filter_value
    from contacts_current
    left join lead_filter_values
        on contacts_current.client_id = lead_filter_values.client_id
        and contacts_current.lead_filter_value = lead_filter_values.lead_filter_value
    where contacts_current.lead_filter_property is null
        or lead_filter_values.lead_filter_value is not null
),

final as (
    select
        {{ dbt.concat(['client_id', "'|'", 'contact_id']) }} as lead_key,
        client_id,
        contact_id,
        contact_created_at,
        {{ local_date('contact_created_at', 'timezone') }} as created_local_date,
        {{ month_of(local_date('contact_created_at', 'timezone')) }} as created_month,
        owner_user_id,
        lifecycle_stage,
        lead_filter_value
    from leads
)

select * from final
