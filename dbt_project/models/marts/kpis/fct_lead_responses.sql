{#- Grain: one row per lead (client_id, contact_id). Its first response (docs/method.md,
    Lead response), its cohort outcomes (meeting / closed-won deal within the cohort
    window) and whether it belongs to the client's KPI baseline. Every lead is kept;
    a lead without a response by its cutoff is unanswered. -#}
with leads as (
    select * from {{ ref('int_crm_leads_filtered') }}
),

activities as (
    select * from {{ ref('int_crm_activities_unioned') }}
),

clients as (
    select * from {{ ref('stg_config__clients') }}
),

client_months as (
    select * from {{ ref('int_client_months_spined') }}
),

workflows as (
    select * from {{ ref('stg_config__workflows') }}
),

config_lists as (
    select * from {{ ref('stg_config__lists') }}
),

deals as (
    select * from {{ ref('stg_hubspot__deals') }}
),

associations as (
    select * from {{ ref('stg_hubspot__associations') }}
),

first_go_lives as (
    select
        client_id,
        min(go_live_date) as first_go_live_date
    from workflows
    group by client_id
),

-- Response cutoff: local midnight after the last settle day following the created month,
-- as a UTC instant. The spine holds it for its months; leads outside the spine (baseline
-- leads before the engagement start, or leads after its last month) get the same formula.
leads_with_cutoffs as (
    select
        leads.client_id,
        leads.contact_id,
        leads.lead_key,
        leads.contact_created_at as created_at,
        leads.created_local_date,
        leads.created_month,
        clients.timezone,
        clients.working_hours_start,
        clients.working_hours_end,
        coalesce(
            client_months.settle_cutoff_at,
            {{ from_local(
                'cast(' ~ add_days(add_months('leads.created_month', 1), 'clients.settle_days') ~ ' as timestamp)',
                'clients.timezone'
            ) }}
        ) as response_cutoff_at,
        {{ dbt.dateadd('day', 'clients.cohort_window_days', 'leads.contact_created_at') }} as cohort_window_ends_at,
        clients.kpi_baseline_days,
        first_go_lives.first_go_live_date
    from leads
    inner join clients
        on leads.client_id = clients.client_id
    left join client_months
        on leads.client_id = client_months.client_id
        and leads.created_month = client_months.report_month
    left join first_go_lives
        on leads.client_id = first_go_lives.client_id
),

responses_ranked as (
    select
        leads_with_cutoffs.client_id,
        leads_with_cutoffs.contact_id,
        activities.activity_id,
        activities.activity_type,
        activities.occurred_at,
        activities.owner_user_id,
        activities.is_automated,
        row_number() over (
            partition by leads_with_cutoffs.client_id, leads_with_cutoffs.contact_id
            order by
                activities.occurred_at,
                case when activities.is_automated then 0 else 1 end,
                activities.activity_type,
                activities.activity_id
        ) as response_rank
    from leads_with_cutoffs
    inner join activities
        on leads_with_cutoffs.client_id = activities.client_id
        and leads_with_cutoffs.contact_id = activities.contact_id
    where activities.is_outbound_response
        and activities.occurred_at >= leads_with_cutoffs.created_at
        and activities.occurred_at < leads_with_cutoffs.response_cutoff_at
),

first_responses as (
    select
        client_id,
        contact_id,
        activity_id,
        activity_type,
        occurred_at,
        owner_user_id,
        is_automated
    from responses_ranked
    where response_rank = 1
),

meetings_in_window as (
    select distinct
        leads_with_cutoffs.client_id,
        leads_with_cutoffs.contact_id
    from leads_with_cutoffs
    inner join activities
        on leads_with_cutoffs.client_id = activities.client_id
        and leads_with_cutoffs.contact_id = activities.contact_id
    where activities.activity_type = 'meeting'
        and activities.occurred_at >= leads_with_cutoffs.created_at
        and activities.occurred_at <= leads_with_cutoffs.cohort_window_ends_at
),

-- The same deal landed in overlapping files counts once: keep its latest version.
deals_ranked as (
    select
        client_id,
        deal_id,
        deal_closed_at,
        is_closed_won,
        is_archived,
        {{ latest_version_rank('client_id, deal_id') }} as version_rank
    from deals
),

won_deals as (
    select
        client_id,
        deal_id,
        deal_closed_at
    from deals_ranked
    where version_rank = 1
        and not is_archived
        and is_closed_won
),

deal_contacts as (
    select
        client_id,
        from_object_id as deal_id,
        to_object_id as contact_id
    from associations
    where lower(from_object_type) in ('deals', 'deal')
        and lower(to_object_type) in ('contacts', 'contact')

    union

    select
        client_id,
        to_object_id as deal_id,
        from_object_id as contact_id
    from associations
    where lower(from_object_type) in ('contacts', 'contact')
        and lower(to_object_type) in ('deals', 'deal')
),

won_deals_in_window as (
    select distinct
        leads_with_cutoffs.client_id,
        leads_with_cutoffs.contact_id
    from leads_with_cutoffs
    inner join deal_contacts
        on leads_with_cutoffs.client_id = deal_contacts.client_id
        and leads_with_cutoffs.contact_id = deal_contacts.contact_id
    inner join won_deals
        on deal_contacts.client_id = won_deals.client_id
        and deal_contacts.deal_id = won_deals.deal_id
    where won_deals.deal_closed_at >= leads_with_cutoffs.created_at
        and won_deals.deal_closed_at <= leads_with_cutoffs.cohort_window_ends_at
),

-- Business-hours variant: working minutes between creation and first response, for
-- clients with working hours. Each local day the response span touches is one row; the
-- day's working window is built in local wall-clock time and converted to UTC (so DST
-- days are right), then clipped to [created_at, first_response_at].
working_weekdays as (
    select distinct
        client_id,
        case lower(trim(list_value))
            when 'sun' then 0 when 'mon' then 1 when 'tue' then 2 when 'wed' then 3
            when 'thu' then 4 when 'fri' then 5 when 'sat' then 6
        end as day_of_week
    from config_lists
    where list_name = 'working_weekdays'
),

-- the client's public holidays (working_hours.holidays): not working days, whatever the weekday
public_holidays as (
    select distinct
        client_id,
        cast(list_value as date) as holiday_date
    from config_lists
    where list_name = 'holidays'
),

clients_with_weekdays as (
    select distinct client_id
    from working_weekdays
),

day_offsets as (
    {{ dbt.generate_series(400) }}
),

answered_spans as (
    select
        leads_with_cutoffs.client_id,
        leads_with_cutoffs.contact_id,
        leads_with_cutoffs.timezone,
        leads_with_cutoffs.created_at,
        leads_with_cutoffs.created_local_date,
        first_responses.occurred_at as first_response_at,
        {{ local_date('first_responses.occurred_at', 'leads_with_cutoffs.timezone') }} as response_local_date,
        cast({{ dbt.split_part('leads_with_cutoffs.working_hours_start', "':'", 1) }} as integer) * 60
            + cast({{ dbt.split_part('leads_with_cutoffs.working_hours_start', "':'", 2) }} as integer)
            as work_start_minute,
        cast({{ dbt.split_part('leads_with_cutoffs.working_hours_end', "':'", 1) }} as integer) * 60
            + cast({{ dbt.split_part('leads_with_cutoffs.working_hours_end', "':'", 2) }} as integer)
            as work_end_minute
    from leads_with_cutoffs
    inner join first_responses
        on leads_with_cutoffs.client_id = first_responses.client_id
        and leads_with_cutoffs.contact_id = first_responses.contact_id
    where leads_with_cutoffs.working_hours_start is not null
        and leads_with_cutoffs.working_hours_end is not null
),

span_days as (
    select
        answered_spans.client_id,
        answered_spans.contact_id,
        answered_spans.timezone,
        answered_spans.created_at,
        answered_spans.first_response_at,
        answered_spans.work_start_minute,
        answered_spans.work_end_minute,
        {{ add_days('answered_spans.created_local_date', 'day_offsets.generated_number - 1') }} as local_day
    from answered_spans
    inner join day_offsets
        on day_offsets.generated_number - 1
            <= {{ dbt.datediff('answered_spans.created_local_date', 'answered_spans.response_local_date', 'day') }}
    where answered_spans.work_end_minute > answered_spans.work_start_minute
),

working_windows as (
    select
        span_days.client_id,
        span_days.contact_id,
        span_days.created_at,
        span_days.first_response_at,
        {{ from_local(dbt.dateadd('minute', 'span_days.work_start_minute', 'cast(span_days.local_day as timestamp)'), 'span_days.timezone') }}
            as window_start_at,
        {{ from_local(dbt.dateadd('minute', 'span_days.work_end_minute', 'cast(span_days.local_day as timestamp)'), 'span_days.timezone') }}
            as window_end_at
    from span_days
    left join clients_with_weekdays
        on span_days.client_id = clients_with_weekdays.client_id
    left join working_weekdays
        on span_days.client_id = working_weekdays.client_id
        and cast(extract(dow from span_days.local_day) as integer) = working_weekdays.day_of_week
    left join public_holidays
        on span_days.client_id = public_holidays.client_id
        and span_days.local_day = public_holidays.holiday_date
    -- no 'working_weekdays' list configured: Monday to Friday
    where public_holidays.holiday_date is null
        and (
            working_weekdays.day_of_week is not null
            or (
                clients_with_weekdays.client_id is null
                and cast(extract(dow from span_days.local_day) as integer) between 1 and 5
            )
        )
),

business_minutes as (
    select
        client_id,
        contact_id,
        sum(
            case
                when least(window_end_at, first_response_at) > greatest(window_start_at, created_at)
                    then cast({{ seconds_between('greatest(window_start_at, created_at)', 'least(window_end_at, first_response_at)') }} as double precision)
                else 0
            end
        ) / 60 as response_business_minutes
    from working_windows
    group by client_id, contact_id
),

final as (
    select
        leads_with_cutoffs.lead_key,
        leads_with_cutoffs.client_id,
        leads_with_cutoffs.contact_id,
        leads_with_cutoffs.created_at,
        leads_with_cutoffs.created_local_date,
        leads_with_cutoffs.created_month,
        leads_with_cutoffs.response_cutoff_at,
        first_responses.occurred_at as first_response_at,
        first_responses.activity_type as first_response_type,
        first_responses.activity_id as first_response_activity_id,
        first_responses.owner_user_id as first_response_owner_user_id,
        -- double precision on both adapters (PostgreSQL's extract(epoch) is numeric)
        cast({{ seconds_between('leads_with_cutoffs.created_at', 'first_responses.occurred_at') }} as double precision)
            / 60 as response_minutes,
        case
            when first_responses.occurred_at is null then null
            when leads_with_cutoffs.working_hours_start is null
                or leads_with_cutoffs.working_hours_end is null then null
            else coalesce(business_minutes.response_business_minutes, cast(0 as double precision))
        end as response_business_minutes,
        first_responses.occurred_at is not null as is_answered,
        coalesce(first_responses.is_automated, false) as is_first_response_automated,
        leads_with_cutoffs.cohort_window_ends_at,
        meetings_in_window.contact_id is not null as has_meeting_in_window,
        won_deals_in_window.contact_id is not null as has_won_deal_in_window,
        leads_with_cutoffs.first_go_live_date,
        coalesce(
            leads_with_cutoffs.created_local_date
                >= {{ add_days('leads_with_cutoffs.first_go_live_date', '-leads_with_cutoffs.kpi_baseline_days') }}
            and leads_with_cutoffs.created_local_date
                <= {{ add_days('leads_with_cutoffs.first_go_live_date', -1) }},
            false
        ) as is_kpi_baseline_lead
    from leads_with_cutoffs
    left join first_responses
        on leads_with_cutoffs.client_id = first_responses.client_id
        and leads_with_cutoffs.contact_id = first_responses.contact_id
    left join business_minutes
        on leads_with_cutoffs.client_id = business_minutes.client_id
        and leads_with_cutoffs.contact_id = business_minutes.contact_id
    left join meetings_in_window
        on leads_with_cutoffs.client_id = meetings_in_window.client_id
        and leads_with_cutoffs.contact_id = meetings_in_window.contact_id
    left join won_deals_in_window
        on leads_with_cutoffs.client_id = won_deals_in_window.client_id
        and leads_with_cutoffs.contact_id = won_deals_in_window.contact_id
)

select * from final
