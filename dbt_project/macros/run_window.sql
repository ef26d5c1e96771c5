{#- The UTC window of runs a monthly run replaces: the report month widened by a day on
    each side, so it covers that calendar month in every time zone (UTC-12 .. UTC+14).
    The window applies only to an incremental run (var report_month set and the model's
    table already there): without the var, on the first build of an empty warehouse, and on
    a full refresh it is unbounded and every run is built. A first monthly run that built
    only its own month would leave the months before it empty, and its report would compare
    against (and credit fees for) months with no runs. -#}
{% macro run_window_start() -%}
    {%- if var('report_month') and is_incremental() -%}
        cast({{ add_days(month_var('report_month'), -1) }} as timestamp)
    {%- else -%}
        cast('1900-01-01' as timestamp)
    {%- endif -%}
{%- endmacro %}

{% macro run_window_end() -%}
    {%- if var('report_month') and is_incremental() -%}
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
