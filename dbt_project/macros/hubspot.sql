{#- A HubSpot engagement's staging model (stg_hubspot__emails / __calls / __meetings): the
    landed table `source_table` as one row per landed copy of an engagement of type
    `activity_type`, its direction (or outcome) column renamed `direction_as`. The three
    engagement types share every other column, so they share this one select. -#}
{% macro stg_hubspot_engagement(source_table, activity_type, direction_column, direction_as='direction') -%}
with source as (
    select * from {{ source('hubspot', source_table) }}
)

select
    _client_id as client_id,
    id as activity_id,
    '{{ activity_type }}' as activity_type,
    hs_timestamp as occurred_at,
    {{ direction_column }} as {{ direction_as }},
    owner_id as owner_user_id,
    -- every property as landed (a measured baseline's volume filters read from it)
    {{ json_text('_record', 'properties') }} as properties_json,
    updated_at,
    coalesce(archived, false) as is_archived,
    _source_file as source_file,
    _loaded_at as loaded_at
from source
{%- endmacro %}

{#- Every HubSpot engagement (emails, calls, meetings) in one shape, one row each: its latest
    landed version (latest_version_rank), archived ones left out. `direction` is the email /
    call direction (null for a meeting), `meeting_outcome` the meeting's (null otherwise).
    A select for a CTE: the CRM intermediate models (int_crm_activities_unioned,
    int_crm_volume_events) read engagements through it, so the union and its version rule
    are written once. -#}
{% macro hubspot_engagements() -%}
    select
        client_id,
        activity_type,
        activity_id,
        occurred_at,
        owner_user_id,
        direction,
        meeting_outcome,
        properties_json
    from (
        select
            landed.*,
            {{ latest_version_rank('client_id, activity_type, activity_id') }} as version_rank
        from (
            {%- for model, outcome in [
                ('stg_hubspot__emails', false), ('stg_hubspot__calls', false), ('stg_hubspot__meetings', true)
            ] %}
            {{ 'union all' if not loop.first }}
            select
                client_id,
                activity_type,
                activity_id,
                occurred_at,
                owner_user_id,
                {{ 'cast(null as varchar) as direction' if outcome else 'direction' }},
                {{ 'meeting_outcome' if outcome else 'cast(null as varchar) as meeting_outcome' }},
                properties_json,
                is_archived,
                updated_at,
                loaded_at,
                source_file
            from {{ ref(model) }}
            {%- endfor %}
        ) as landed
    ) as ranked
    where version_rank = 1
        and not is_archived
{%- endmacro %}

{#- The activity type ('email', 'call', 'meeting') of a HubSpot association's object type
    column, null for any other object. Landed associations name types in the plural
    ('emails'); the singular is accepted too so a differently shaped export does not
    silently lose its associations. -#}
{% macro hubspot_activity_type(object_type) -%}
    case
        when lower({{ object_type }}) in ('emails', 'email') then 'email'
        when lower({{ object_type }}) in ('calls', 'call') then 'call'
        when lower({{ object_type }}) in ('meetings', 'meeting') then 'meeting'
    end
{%- endmacro %}

{#- Whether a HubSpot association's object type column names a contact. -#}
{% macro hubspot_is_contact(object_type) -%}
    lower({{ object_type }}) in ('contacts', 'contact')
{%- endmacro %}
