{#- Grain: one row per workflow and calendar month (client's zone) in which the workflow
    is live. Every figure follows docs/method.md §1 and §2; unrounded. -#}

with workflow_months as (
    select * from {{ ref('int_workflow_months_spined') }}
),

workflows as (
    select * from {{ ref('stg_config__workflows') }}
),

run_months as (
    select * from {{ ref('int_workflow_run_months') }}
),

baselines as (
    select * from {{ ref('int_workflow_baselines') }}
),

time_entries as (
    select * from {{ ref('int_time_entries_classified') }}
),

workflow_values as (
    select * from {{ ref('int_effective_values_monthly') }}
    where workflow_key is not null
),

client_values as (
    select * from {{ ref('int_effective_values_monthly') }}
    where workflow_key is null
),

residual as (
    -- client-staff hours on the workflow's process on its live days of the month
    select
        workflow_months.client_id,
        workflow_months.workflow_key,
        workflow_months.report_month,
        {{ exact_sum('time_entries.hours_logged') }} as residual_manual_hours
    from workflow_months
    inner join workflows
        on workflow_months.client_id = workflows.client_id
        and workflow_months.workflow_key = workflows.workflow_key
    inner join time_entries
        on workflow_months.client_id = time_entries.client_id
        and workflows.process_key = time_entries.process_key
        and time_entries.work_date >= workflow_months.first_live_date
        and time_entries.work_date <= workflow_months.last_live_date
    where not time_entries.is_consultancy
    group by workflow_months.client_id, workflow_months.workflow_key, workflow_months.report_month
),

valued as (
    select
        workflow_values.client_id,
        workflow_values.workflow_key,
        workflow_values.report_month,
        max(case when workflow_values.value_name = 'tooling_cost' then workflow_values.effective_value end) as tooling_cost,
        max(case when workflow_values.value_name = 'hourly_cost_override' then workflow_values.effective_value end) as hourly_cost_override,
        max(case when workflow_values.value_name = 'declared_minutes' then workflow_values.effective_value end) as declared_minutes_per_task
    from workflow_values
    group by workflow_values.client_id, workflow_values.workflow_key, workflow_values.report_month
),

joined as (
    select
        workflow_months.client_id,
        workflow_months.workflow_key,
        workflow_months.report_month,
        workflow_months.workflow_month_key,
        workflows.workflow_name,
        workflows.platform,
        workflows.risk_class,
        workflows.process_name,
        workflows.go_live_date,
        workflows.is_daily,
        workflow_months.live_days,
        workflow_months.live_days_elapsed,
        workflow_months.live_time_elapsed_days,
        coalesce(run_months.production_runs, 0) as production_runs,
        coalesce(run_months.successful_runs, 0) as successful_runs,
        coalesce(run_months.failed_runs, 0) as failed_runs,
        coalesce(run_months.recovered_runs, 0) as recovered_runs,
        -- the denominator of error_rate and success_rate (cancelled, waiting and running runs are neither)
        coalesce(run_months.successful_runs, 0) + coalesce(run_months.failed_runs, 0) as successful_or_failed_runs,
        coalesce(run_months.tasks_automated, 0) as tasks_automated,
        coalesce(run_months.llm_cost, 0) as llm_cost,
        run_months.p95_duration_seconds,
        coalesce(run_months.active_days, 0) as active_days,
        baselines.configured_baseline_method,
        baselines.is_measured_valid,
        baselines.measured_minutes_per_task,
        baselines.baseline_volume_events,
        baselines.window_days as baseline_window_days,
        valued.declared_minutes_per_task,
        coalesce(valued.tooling_cost, 0) as tooling_cost,
        coalesce(valued.hourly_cost_override, client_values.effective_value) as hourly_cost,
        coalesce(residual.residual_manual_hours, 0) as residual_manual_hours
    from workflow_months
    inner join workflows
        on workflow_months.client_id = workflows.client_id
        and workflow_months.workflow_key = workflows.workflow_key
    left join run_months
        on workflow_months.client_id = run_months.client_id
        and workflow_months.workflow_key = run_months.workflow_key
        and workflow_months.report_month = run_months.run_month
    left join baselines
        on workflow_months.client_id = baselines.client_id
        and workflow_months.workflow_key = baselines.workflow_key
    left join valued
        on workflow_months.client_id = valued.client_id
        and workflow_months.workflow_key = valued.workflow_key
        and workflow_months.report_month = valued.report_month
    left join client_values
        on workflow_months.client_id = client_values.client_id
        and workflow_months.report_month = client_values.report_month
        and client_values.value_name = 'hourly_cost'
    left join residual
        on workflow_months.client_id = residual.client_id
        and workflow_months.workflow_key = residual.workflow_key
        and workflow_months.report_month = residual.report_month
),

minutes as (
    select
        *,
        case
            when is_measured_valid then 'measured'
            when declared_minutes_per_task is not null then 'declared'
            else 'unknown'
        end as baseline_method,
        configured_baseline_method = 'measured' and not is_measured_valid as is_baseline_low_confidence,
        case
            when is_measured_valid then measured_minutes_per_task
            else declared_minutes_per_task
        end as minutes_per_task
    from joined
),

figures as (
    select
        *,
        minutes_per_task is null as is_hours_unknown,
        tasks_automated * minutes_per_task / 60.0 as gross_hours_saved,
        tasks_automated * minutes_per_task / 60.0 - residual_manual_hours as hours_saved,
        (tasks_automated * minutes_per_task / 60.0 - residual_manual_hours) * hourly_cost as value_created,
        llm_cost + tooling_cost as run_cost,
        case
            when successful_or_failed_runs > 0
                then 1.0 * failed_runs / successful_or_failed_runs
        end as error_rate,
        case
            when successful_or_failed_runs > 0
                then 1.0 * successful_runs / successful_or_failed_runs
        end as success_rate,
        case when is_daily then greatest(live_days_elapsed - active_days, 0) end as silent_days
    from minutes
),

netted as (
    select
        *,
        value_created - run_cost as net_value
    from figures
),

ranked as (
    select
        netted.*,
        lag(net_value) over (partition by client_id, workflow_key order by report_month) as previous_net_value,
        lag(report_month) over (partition by client_id, workflow_key order by report_month) as previous_live_month,
        lag(hours_saved) over (partition by client_id, workflow_key order by report_month) as previous_hours_saved,
        lag(tasks_automated) over (partition by client_id, workflow_key order by report_month) as previous_tasks_automated,
        count(net_value) over (partition by client_id, report_month) as workflows_with_known_net,
        -- rank = 1 + the number of workflows with a strictly higher net value (ties share it)
        case
            when net_value is not null
                then rank() over (
                    partition by client_id, report_month, net_value is null
                    order by net_value desc
                ) - 1
        end as workflows_with_higher_net
    from netted
),

recommended as (
    select
        *,
        (error_rate is not null and error_rate >= {{ var('fix_error_rate') }})
            or coalesce(silent_days, 0) >= {{ var('fix_silent_days') }} as is_fix_signal,
        net_value <= 0
            and previous_net_value <= 0
            and previous_live_month = {{ add_months('report_month', -1) }}
            and {{ add_months('report_month', -1) }} >= {{ add_days('go_live_date', var('cut_min_days_live')) }}
            as is_cut_signal,
        net_value is not null
            and error_rate is not null
            and error_rate < {{ var('scale_max_error_rate') }}
            and workflows_with_higher_net < ceil(workflows_with_known_net / 3.0) as is_scale_signal
    from ranked
)

select
    client_id,
    workflow_key,
    report_month,
    workflow_month_key,
    workflow_name,
    platform,
    risk_class,
    process_name,
    go_live_date,
    is_daily,
    live_days,
    live_time_elapsed_days,
    production_runs,
    successful_runs,
    failed_runs,
    recovered_runs,
    successful_or_failed_runs,
    error_rate,
    success_rate,
    p95_duration_seconds,
    silent_days,
    tasks_automated,
    baseline_method,
    is_baseline_low_confidence,
    is_hours_unknown,
    minutes_per_task,
    measured_minutes_per_task,
    declared_minutes_per_task,
    baseline_volume_events,
    baseline_window_days,
    gross_hours_saved,
    residual_manual_hours,
    hours_saved,
    hourly_cost,
    value_created,
    llm_cost,
    tooling_cost,
    run_cost,
    net_value,
    previous_hours_saved,
    previous_tasks_automated,
    previous_net_value,
    case
        when is_fix_signal then 'fix'
        when is_cut_signal then 'cut'
        when is_scale_signal then 'scale'
        else 'keep'
    end as recommendation,
    case
        when is_fix_signal and error_rate >= {{ var('fix_error_rate') }}
            then 'error rate at or above ' || cast({{ var('fix_error_rate') }} * 100 as integer) || '%'
        when is_fix_signal then cast(silent_days as varchar) || ' silent days'
        when is_cut_signal then 'net value at or below zero two months running after 60 days live'
        when is_scale_signal then 'top third of net value with a low error rate'
        else 'no rule applies'
    end as recommendation_reason
from recommended
