{#- The UTC window of runs a monthly run replaces: the report month widened by a day on
    each side, so it covers that calendar month in every time zone (UTC-12 .. UTC+14).
    The window applies only to an incremental run (report month set and the model's
    table already there): without the var, on the first build of an empty warehouse, and on
    a full refresh it is unbounded and every run is built. A first monthly run that built
    only its own month would leave the months before it empty, and its report would compare
    against (and credit fees for) months with no runs. -#}
{% macro run_window_start() -%}
    {%- if is_incremental() and month_setting('report_month') -%}
        {{ report_month_window_start() }}
    {%- else -%}
        cast('1900-01-01' as timestamp)
    {%- endif -%}
{%- endmacro %}

{% macro run_window_end() -%}
    {%- if is_incremental() and month_setting('report_month') -%}
        {{ report_month_window_end() }}
    {%- else -%}
        cast('2999-01-01' as timestamp)
    {%- endif -%}
{%- endmacro %}

{#- The report month's UTC window itself, whatever the model's materialization (call only
    with the report month set). -#}
{% macro report_month_window_start() -%}
    cast({{ add_days(month_var('report_month'), -1) }} as timestamp)
{%- endmacro %}

{% macro report_month_window_end() -%}
    cast({{ add_days(add_months(month_var('report_month'), 1), 1) }} as timestamp)
{%- endmacro %}

{#- Rows a partition-replacing incremental model deletes before inserting its batch. -#}
{% macro delete_partition(relation, predicate) -%}
    {%- if is_incremental() -%}
        delete from {{ relation }} where {{ predicate }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- Client-months whose landed run history is not built yet (int_run_months_pending: a
    client onboarded into a populated warehouse, a late or re-delivered file of an earlier
    month), as {client_id: ['YYYY-MM-DD', ...]}. An incremental run rebuilds them besides
    the report month, so a monthly build gives what a full build gives; when nothing else
    changed the dict is empty (or holds only the report month) and the cost stays the
    month's. Read at run time; empty outside an incremental run (a full build takes all). -#}
{% macro pending_run_months() -%}
    {%- if not (execute and is_incremental() and month_setting('report_month')) -%}
        {{ return({}) }}
    {%- endif -%}
    {%- set rows = run_query(
        'select client_id, run_month from ' ~ ref('int_run_months_pending') ~ ' order by client_id, run_month'
    ) -%}
    {%- set out = {} -%}
    {%- for row in rows -%}
        {%- do out.setdefault(row[0], []).append(row[1] | string) -%}
    {%- endfor -%}
    {{ return(out) }}
{%- endmacro %}

{#- " or (client and local month pending) ..." for a column of local run months, or nothing. -#}
{% macro or_pending_months(client_column, month_column) -%}
    {%- for client_id, months in pending_run_months().items() %}
        or ({{ client_column }} = '{{ client_id | replace("'", "''") }}' and {{ month_column }} in (
            {%- for month in months -%}
                cast('{{ month }}' as date){{ ", " if not loop.last }}
            {%- endfor -%}))
    {%- endfor -%}
{%- endmacro %}

{#- " or (client and start time within its pending months' window, widened like the report
    month's plus `lookback_days` before)" for the runs read from staging, or nothing. -#}
{% macro or_pending_windows(client_column, started_column, lookback_days=0) -%}
    {%- for client_id, months in pending_run_months().items() %}
        or ({{ client_column }} = '{{ client_id | replace("'", "''") }}'
            and {{ started_column }} >= cast({{ add_days("cast('" ~ months[0] ~ "' as date)", -1 - lookback_days) }} as timestamp)
            and {{ started_column }} < cast({{ add_days(add_months("cast('" ~ months[-1] ~ "' as date)", 1), 1) }} as timestamp))
    {%- endfor -%}
{%- endmacro %}

{#- " or client is one with pending months" (every run of theirs from any time), or nothing. -#}
{% macro or_pending_clients(client_column) -%}
    {%- set clients = pending_run_months().keys() | list -%}
    {%- if clients %}
        or {{ client_column }} in (
            {%- for client_id in clients -%}
                '{{ client_id | replace("'", "''") }}'{{ ", " if not loop.last }}
            {%- endfor -%})
    {%- endif -%}
{%- endmacro %}
