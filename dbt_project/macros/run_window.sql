{#- The UTC window of runs a monthly run replaces: the report month widened by a day on
    each side, so it covers that calendar month in every time zone (UTC-12 .. UTC+14).
    Without var report_month the window is unbounded: every run is rebuilt. -#}
{% macro run_window_start() -%}
    {%- if var('report_month') -%}
        cast({{ add_days(month_var('report_month'), -1) }} as timestamp)
    {%- else -%}
        cast('1900-01-01' as timestamp)
    {%- endif -%}
{%- endmacro %}

{% macro run_window_end() -%}
    {%- if var('report_month') -%}
        cast({{ add_days(add_months(month_var('report_month'), 1), 1) }} as timestamp)
    {%- else -%}
        cast('2999-01-01' as timestamp)
    {%- endif -%}
{%- endmacro %}

{#- Rows a partition-replacing incremental model deletes before inserting its batch. -#}
{% macro delete_partition(relation, predicate) -%}
    {%- if is_incremental() -%}
        delete from {{ relation }} where {{ predicate }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
