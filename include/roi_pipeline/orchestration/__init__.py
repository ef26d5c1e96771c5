"""Orchestration logic the Airflow DAGs call: plain, typed, tested Python (no Airflow at import).

- :mod:`.months`: which month a run processes (per client zone, from the data interval);
- :mod:`.steps`: per-client steps (extract, ingest, gates, render, e-mail) and the run summary;
- :mod:`.watch`: the daily guarantee watch's read of the month in progress;
- :mod:`.onboarding`: checks a new client's configuration and data before a backfill;
- :mod:`.dbt`: the Cosmos dbt build task and the pre-built manifest;
- :mod:`.groups`: the task wiring both scheduled DAGs share (imports Airflow: DAG files only);
- :mod:`.defaults`: pool, DAG ids, owner, retries, settle period.
"""
