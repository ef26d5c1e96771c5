-- Grain of the HubSpot staging models: one row per landed record per file.
with duplicates as (
    select 'stg_hubspot__contacts' as model_name, client_id, source_file, contact_id as object_id, count(*) as row_count
    from {{ ref('stg_hubspot__contacts') }}
    group by client_id, source_file, contact_id
    having count(*) > 1
    union all
    select 'stg_hubspot__calls', client_id, source_file, activity_id, count(*)
    from {{ ref('stg_hubspot__calls') }}
    group by client_id, source_file, activity_id
    having count(*) > 1
    union all
    select 'stg_hubspot__emails', client_id, source_file, activity_id, count(*)
    from {{ ref('stg_hubspot__emails') }}
    group by client_id, source_file, activity_id
    having count(*) > 1
    union all
    select 'stg_hubspot__meetings', client_id, source_file, activity_id, count(*)
    from {{ ref('stg_hubspot__meetings') }}
    group by client_id, source_file, activity_id
    having count(*) > 1
    union all
    select 'stg_hubspot__deals', client_id, source_file, deal_id, count(*)
    from {{ ref('stg_hubspot__deals') }}
    group by client_id, source_file, deal_id
    having count(*) > 1
    union all
    select
        'stg_hubspot__associations',
        client_id,
        source_file,
        from_object_type || ':' || from_object_id || '->' || to_object_type || ':' || to_object_id
            || ':' || coalesce(association_type, ''),
        count(*)
    from {{ ref('stg_hubspot__associations') }}
    group by client_id, source_file, from_object_type, from_object_id, to_object_type, to_object_id, association_type
    having count(*) > 1
)

select * from duplicates
