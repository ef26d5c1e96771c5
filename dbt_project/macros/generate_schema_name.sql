{#- Analysts query `marts.fct_client_months`, not `main_marts.fct_client_months`:
    a folder's +schema is used as is. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
