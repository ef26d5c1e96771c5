{#- Grain: one row per client and report month of int_client_months_spined (months
    without leads included). The CRM KPIs beside hours (docs/method.md): lead response
    time, meeting rate, conversion, coverage and adoption, with the client's KPI
    baselines repeated on every row. -#}
with client_months as (
    select * from {{ ref('int_client_months_spined') }}
),

lead_responses as (
    select * from {{ ref('fct_lead_responses') }}
),

leads as (
    select * from {{ ref('int_crm_leads_filtered') }}
),

activities as (
    select * from {{ ref('int_crm_activities_unioned') }}
),

lead_months as (
    select
        client_months.client_id,
        client_months.report_month,
        count(lead_responses.contact_id) as leads_created,
        sum(case when lead_responses.is_answered then 1 else 0 end) as leads_answered,
        sum(case when lead_responses.is_answered then 0 else 1 end) as leads_unanswered,
        {{ percentile('lead_responses.response_minutes', 0.5) }} as response_minutes_median,
        {{ percentile('lead_responses.response_minutes', 0.9) }} as response_minutes_p90,
        {{ percentile('lead_responses.response_business_minutes', 0.5) }} as response_business_minutes_median,
        {{ percentile('lead_responses.response_business_minutes', 0.9) }} as response_business_minutes_p90,
        sum(case when lead_responses.has_meeting_in_window then 1 else 0 end) as leads_with_meeting,
        sum(case when lead_responses.has_won_deal_in_window then 1 else 0 end) as leads_won,
        sum(case when lead_responses.is_first_response_automated then 1 else 0 end)
            as leads_first_response_automated,
        max(lead_responses.cohort_window_ends_at) as last_cohort_window_ends_at
    from client_months
    inner join lead_responses
        on client_months.client_id = lead_responses.client_id
        and client_months.report_month = lead_responses.created_month
    group by client_months.client_id, client_months.report_month
),

-- Adoption: a non-automation user's outbound activity on a lead counts when an automation
-- had touched that lead (any activity of an automation user, any type or direction)
-- at or before it. A window over the contact's activities (not a self-join) finds the
-- first automated touch.
activities_with_first_touch as (
    select
        client_id,
        contact_id,
        occurred_at,
        occurred_local_date,
        owner_user_id,
        is_outbound_response,
        is_automated,
        min(case when is_automated then occurred_at end) over (
            partition by client_id, contact_id
        ) as first_automation_touch_at
    from activities
),

adopting_actions as (
    select
        activities_with_first_touch.client_id,
        {{ month_of('activities_with_first_touch.occurred_local_date') }} as report_month,
        activities_with_first_touch.owner_user_id
    from activities_with_first_touch
    inner join leads
        on activities_with_first_touch.client_id = leads.client_id
        and activities_with_first_touch.contact_id = leads.contact_id
    where activities_with_first_touch.is_outbound_response
        and not activities_with_first_touch.is_automated
        and activities_with_first_touch.owner_user_id is not null
        and activities_with_first_touch.first_automation_touch_at <= activities_with_first_touch.occurred_at
),

adoption_months as (
    select
        client_id,
        report_month,
        count(distinct owner_user_id) as adoption_users
    from adopting_actions
    group by client_id, report_month
),

baselines as (
    select
        client_id,
        count(*) as baseline_leads,
        sum(case when is_answered then 1 else 0 end) as baseline_leads_answered,
        {{ percentile('response_minutes', 0.5) }} as baseline_response_minutes_median,
        {{ percentile('response_minutes', 0.9) }} as baseline_response_minutes_p90,
        {{ percentile('response_business_minutes', 0.5) }} as baseline_response_business_minutes_median,
        {{ percentile('response_business_minutes', 0.9) }} as baseline_response_business_minutes_p90,
        sum(case when has_meeting_in_window then 1 else 0 end) as baseline_leads_with_meeting,
        sum(case when has_won_deal_in_window then 1 else 0 end) as baseline_leads_won
    from lead_responses
    where is_kpi_baseline_lead
    group by client_id
),

final as (
    select
        {{ dbt.concat(['client_months.client_id', "'|'", 'cast(client_months.report_month as ' ~ dbt.type_string() ~ ')']) }}
            as client_month_key,
        client_months.client_id,
        client_months.report_month,
        coalesce(lead_months.leads_created, 0) as leads_created,
        coalesce(lead_months.leads_answered, 0) as leads_answered,
        coalesce(lead_months.leads_unanswered, 0) as leads_unanswered,
        lead_months.response_minutes_median,
        lead_months.response_minutes_p90,
        lead_months.response_business_minutes_median,
        lead_months.response_business_minutes_p90,
        not client_months.is_month_closed as is_response_provisional,
        coalesce(lead_months.leads_with_meeting, 0) as leads_with_meeting,
        case
            when lead_months.leads_created > 0
                then cast(lead_months.leads_with_meeting as double precision) / lead_months.leads_created
        end as meeting_rate,
        coalesce(lead_months.leads_won, 0) as leads_won,
        case
            when lead_months.leads_created > 0
                then cast(lead_months.leads_won as double precision) / lead_months.leads_created
        end as conversion_rate,
        case
            when client_months.as_of_at is null then true
            when lead_months.last_cohort_window_ends_at > client_months.as_of_at then true
            else false
        end as is_cohort_provisional,
        coalesce(lead_months.leads_first_response_automated, 0) as leads_first_response_automated,
        case
            when lead_months.leads_answered > 0
                then cast(lead_months.leads_first_response_automated as double precision)
                    / lead_months.leads_answered
        end as coverage_rate,
        coalesce(adoption_months.adoption_users, 0) as adoption_users,
        client_months.as_of_at,
        coalesce(baselines.baseline_leads, 0) as baseline_leads,
        coalesce(baselines.baseline_leads_answered, 0) as baseline_leads_answered,
        baselines.baseline_response_minutes_median,
        baselines.baseline_response_minutes_p90,
        baselines.baseline_response_business_minutes_median,
        baselines.baseline_response_business_minutes_p90,
        coalesce(baselines.baseline_leads_with_meeting, 0) as baseline_leads_with_meeting,
        case
            when baselines.baseline_leads > 0
                then cast(baselines.baseline_leads_with_meeting as double precision) / baselines.baseline_leads
        end as baseline_meeting_rate,
        coalesce(baselines.baseline_leads_won, 0) as baseline_leads_won,
        case
            when baselines.baseline_leads > 0
                then cast(baselines.baseline_leads_won as double precision) / baselines.baseline_leads
        end as baseline_conversion_rate
    from client_months
    left join lead_months
        on client_months.client_id = lead_months.client_id
        and client_months.report_month = lead_months.report_month
    left join adoption_months
        on client_months.client_id = adoption_months.client_id
        and client_months.report_month = adoption_months.report_month
    left join baselines
        on client_months.client_id = baselines.client_id
)

select * from final
