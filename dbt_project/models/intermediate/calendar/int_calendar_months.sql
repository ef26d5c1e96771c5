{#- Every month from 2015 to 2040: the spine months are cut from. -#}
{{ config(materialized='table') }}

with numbers as (
    {{ dbt.generate_series(312) }}
)

select
    {{ add_months("cast('2015-01-01' as date)", "generated_number - 1") }} as report_month
from numbers
