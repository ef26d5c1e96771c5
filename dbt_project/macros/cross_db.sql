{#- Cross-database helpers. The project runs on DuckDB (default) and PostgreSQL; where the
    two spell a thing differently the macro dispatches, otherwise it documents intent.
    Timestamps are stored as naive UTC (`*_at`); local wall-clock values are derived. -#}

{#- naive UTC timestamp -> naive local wall-clock time in zone `tz` (a column or literal) -#}
{% macro to_local(ts, tz) -%}
    (({{ ts }}) at time zone 'UTC') at time zone ({{ tz }})
{%- endmacro %}

{#- naive local wall-clock time in zone `tz` -> naive UTC timestamp -#}
{% macro from_local(local_ts, tz) -%}
    (({{ local_ts }}) at time zone ({{ tz }})) at time zone 'UTC'
{%- endmacro %}

{#- local calendar date of a naive UTC instant -#}
{% macro local_date(ts, tz) -%}
    cast({{ to_local(ts, tz) }} as date)
{%- endmacro %}

{#- first day of the month of a date / timestamp, as a date -#}
{% macro month_of(d) -%}
    cast({{ dbt.date_trunc('month', d) }} as date)
{%- endmacro %}

{#- date + n days / months, as a date -#}
{% macro add_days(d, n) -%}
    cast({{ dbt.dateadd('day', n, d) }} as date)
{%- endmacro %}
{% macro add_months(d, n) -%}
    cast({{ dbt.dateadd('month', n, d) }} as date)
{%- endmacro %}

{#- seconds between two timestamps, fractional, as double precision on both adapters.
    Each epoch is cast before subtracting: DuckDB's extract(epoch) is already the double
    nearest microseconds / 1e6 (the cast is a no-op there), PostgreSQL's is an exact
    numeric whose cast rounds to that same double, so the difference is bit-identical. -#}
{% macro seconds_between(start_ts, end_ts) -%}
    (cast(extract(epoch from {{ end_ts }}) as double precision)
        - cast(extract(epoch from {{ start_ts }}) as double precision))
{%- endmacro %}

{#- Pre-hook for a model whose large CTEs PostgreSQL cannot size: it guesses a filter on a
    window function's result (`copy_rank = 1`) keeps 0.5% of the rows, then joins the
    "few" rows with nested loops, quadratic in the runs (minutes for 50k runs, instead of
    under a second with hash joins). `set local` lasts for the model's transaction only.
    Other adapters: a no-op statement. -#}
{% macro avoid_nested_loops() -%}
    {{ return(adapter.dispatch('avoid_nested_loops', 'roi')()) }}
{%- endmacro %}
{% macro default__avoid_nested_loops() -%}
    select 1
{%- endmacro %}
{% macro postgres__avoid_nested_loops() -%}
    set local enable_nestloop = off
{%- endmacro %}

{#- linear-interpolation percentile (DuckDB quantile_cont = PostgreSQL percentile_cont) -#}
{% macro percentile(expr, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expr }})
{%- endmacro %}

{#- text value of a top-level key of a JSON object stored as text -#}
{% macro json_text(column, key) -%}
    {{ return(adapter.dispatch('json_text', 'roi')(column, key)) }}
{%- endmacro %}
{% macro default__json_text(column, key) -%}
    (cast({{ column }} as json) ->> '{{ key }}')
{%- endmacro %}
{% macro duckdb__json_text(column, key) -%}
    json_extract_string({{ column }}, '$."{{ key }}"')
{%- endmacro %}

{#- The month settings of a build, 'YYYY-MM' or '' (unset): report_month (the month a monthly
    run processes; unset: every month present in the data) and through_month (the last month
    the client-month spine reaches; unset: the latest month with runs). They come from the
    environment (ROI_REPORT_MONTH, ROI_THROUGH_MONTH: roi_pipeline.settings.DBT_ENV_VARS, which
    transform.run_dbt and the DAG's dbt task set), not from --vars: a changed --vars value
    makes dbt re-parse the whole project, every month. They are read only while executing
    (parsing never needs them), so a new month re-parses nothing. -#}
{% macro month_setting(name) -%}
    {%- set env_names = {'report_month': 'ROI_REPORT_MONTH', 'through_month': 'ROI_THROUGH_MONTH'} -%}
    {%- if name not in env_names -%}
        {{ exceptions.raise_compiler_error("unknown month setting " ~ name) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {{ return(env_var(env_names[name], '') | trim) }}
{%- endmacro %}

{#- A month setting -> date literal of its first day, or null -#}
{% macro month_var(name) -%}
    {%- set value = month_setting(name) -%}
    {%- if value == '' -%}null{%- else -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}$', value) -%}
            {{ exceptions.raise_compiler_error("month setting " ~ name ~ " must be YYYY-MM, got " ~ value) }}
        {%- endif -%}
        cast('{{ value }}-01' as date)
    {%- endif -%}
{%- endmacro %}

{#- An order-independent sum of a double: each value is fixed to 10 decimals and added
    exactly, so the result does not depend on the physical order of rows (a full build and
    a month-by-month build store rows in different orders; plain float addition then
    differs in the last bits, and reruns would not be byte-identical). -#}
{% macro exact_sum(expr) -%}
    cast(sum(cast({{ expr }} as decimal(38, 10))) as double precision)
{%- endmacro %}

{#- text value of a top-level key named by an expression (e.g. a configuration column) -#}
{% macro json_text_at(column, key_expr) -%}
    {{ return(adapter.dispatch('json_text_at', 'roi')(column, key_expr)) }}
{%- endmacro %}
{% macro default__json_text_at(column, key_expr) -%}
    (cast({{ column }} as json) ->> ({{ key_expr }}))
{%- endmacro %}
{% macro duckdb__json_text_at(column, key_expr) -%}
    json_extract_string({{ column }}, '$."' || ({{ key_expr }}) || '"')
{%- endmacro %}

{#- naive UTC timestamp from a CRM property's text, whatever a client's CRM holds there. The
    text is trimmed, and a `Z` or an offset after a space is written as an offset; then:
    - epoch milliseconds (1 to 15 digits), and an ISO-8601 date and time with an offset (`Z`,
      `+01:00`, `+0100`, `+01`), are instants;
    - an ISO-8601 date, or date and time, without an offset is a wall-clock time in zone `tz`,
      the client's, as landing files' naive times are (docs/landing.md, Timestamps); never the
      database session's zone, which differs between machines;
    - anything else (empty, free text, a zone name, another date style, an impossible date) is
      null on both databases: one client's odd value must not fail every client's build, and
      the two databases' own parsers accept different extras (PostgreSQL's `today`, `03/04/2026`
      by its DateStyle). PostgreSQL has no try_cast: it calls the functions `roi_functions`
      creates at the start of each dbt run.
    The patterns (instant_patterns) are full matches on both databases. -#}
{% macro instant_patterns() -%}
    {%- set date_time = '[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?' -%}
    {{ return({
        'epoch_ms': '[0-9]{1,15}',
        'with_offset': date_time ~ '[+-][0-9]{2}(:?[0-9]{2})?',
        'local': '[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?)?',
    }) }}
{%- endmacro %}
{% macro instant_text(text) -%}
    regexp_replace(regexp_replace(trim({{ text }}), '\s*[Zz]$', '+00:00'), '\s+([+-][0-9]{2}(:?[0-9]{2})?)$', '\1')
{%- endmacro %}
{% macro text_instant(text, tz) -%}
    {{ return(adapter.dispatch('text_instant', 'roi')(text, tz)) }}
{%- endmacro %}
{% macro default__text_instant(text, tz) -%}
    {%- set patterns = instant_patterns() -%}
    {%- set t = instant_text(text) -%}
    case
        when {{ t }} ~ '^{{ patterns.epoch_ms }}$'
            then to_timestamp(cast({{ t }} as bigint) / 1000.0) at time zone 'UTC'
        when {{ t }} ~ '^{{ patterns.with_offset }}$'
            then {{ target.schema }}.roi_try_timestamptz({{ t }}) at time zone 'UTC'
        when {{ t }} ~ '^{{ patterns.local }}$'
            then {{ from_local(target.schema ~ '.roi_try_timestamp(' ~ t ~ ')', tz) }}
    end
{%- endmacro %}
{% macro duckdb__text_instant(text, tz) -%}
    {%- set patterns = instant_patterns() -%}
    {%- set t = instant_text(text) -%}
    case
        when regexp_full_match({{ t }}, '{{ patterns.epoch_ms }}')
            then to_timestamp(cast({{ t }} as bigint) / 1000.0) at time zone 'UTC'
        when regexp_full_match({{ t }}, '{{ patterns.with_offset }}')
            then try_cast({{ t }} as timestamptz) at time zone 'UTC'
        when regexp_full_match({{ t }}, '{{ patterns.local }}')
            then {{ from_local('try_cast(' ~ t ~ ' as timestamp)', tz) }}
    end
{%- endmacro %}

{#- on-run-start (dbt_project.yml): what the macros above need of the database. PostgreSQL: the
    casts that give null instead of an error (DuckDB's try_cast), in the target schema, created
    or replaced at every run (idempotent). DuckDB: nothing. -#}
{% macro roi_functions() -%}
    {{ return(adapter.dispatch('roi_functions', 'roi')()) }}
{%- endmacro %}
{% macro default__roi_functions() -%}
    select 1
{%- endmacro %}
{% macro postgres__roi_functions() -%}
    create or replace function {{ target.schema }}.roi_try_timestamptz(value text) returns timestamptz
    language plpgsql stable as $$
    begin
        return value::timestamptz;
    exception when others then
        return null;
    end
    $$;
    create or replace function {{ target.schema }}.roi_try_timestamp(value text) returns timestamp
    language plpgsql stable as $$
    begin
        return value::timestamp;
    exception when others then
        return null;
    end
    $$
{%- endmacro %}

{#- The key a process name is matched by (docs/method.md, Timesheets: trimmed and
    case-insensitive; inner runs of whitespace, Unicode spaces included (written literally in the class below,
    which DuckDB's and PostgreSQL's regular expressions both read), count as one space).
    The workflows' process (stg_config__workflows) and the timesheet rows'
    (int_time_entries_classified) are both keyed here, by the same function of the database,
    so a name matches itself whatever its letters ('Straße', 'İ'). -#}
{% macro process_key(expr) -%}
    lower(trim(regexp_replace({{ expr }}, '[\s   -     　]+', ' ', 'g')))
{%- endmacro %}
