-- On every workflow-month: hours_saved = gross_hours_saved − residual_manual_hours when the
-- hours are known (and all three hour figures null together with is_hours_unknown),
-- gross = tasks × minutes ÷ 60, value = hours × hourly cost, run_cost = llm + tooling,
-- net = value − run cost. Never clipped: negative hours are expected to pass.
select
    workflow_month_key,
    tasks_automated,
    minutes_per_task,
    gross_hours_saved,
    residual_manual_hours,
    hours_saved,
    value_created,
    run_cost,
    net_value
from {{ ref('fct_workflow_months') }}
where
    (not is_hours_unknown and (
        hours_saved is null
        or abs(hours_saved - (gross_hours_saved - residual_manual_hours)) > 1e-9
        or abs(gross_hours_saved - tasks_automated * minutes_per_task / 60.0) > 1e-9
        or abs(value_created - hours_saved * hourly_cost) > 1e-6
        or abs(net_value - (value_created - run_cost)) > 1e-6
    ))
    or (is_hours_unknown and (
        minutes_per_task is not null or gross_hours_saved is not null
        or hours_saved is not null or value_created is not null or net_value is not null
    ))
    or abs(run_cost - (llm_cost + tooling_cost)) > 1e-9
