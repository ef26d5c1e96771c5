{#- A data test whose failing rows name the client they belong to (a client_id column).

    In a production build (var hold_clients_on_failed_tests: true, which `roi build`, `roi run`
    and the DAG's dbt task set) such a test only warns: one client's data must not fail the
    build for every client. Its failing rows are stored in schema test_failures (one table per
    test, replaced on every build) and the mart gate holds each client that has rows there,
    naming the test (quality suite mart_data_tests). Without the var (CI, a plain `dbt build`)
    the test is an error, as before. Tests whose failures cannot be attributed to a client
    (structural ones) never use this and always fail the build. -#}
{% macro client_scoped_test() -%}
    {{ config(
        tags=['client_scoped'],
        store_failures=true,
        schema='test_failures',
        severity=('warn' if var('hold_clients_on_failed_tests', false) else 'error')
    ) }}
{%- endmacro %}
