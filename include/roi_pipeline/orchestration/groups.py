"""The task wiring both scheduled DAGs share, written once (imports Airflow: DAG files only).

``roi_monthly`` and ``roi_guarantee_watch`` both plan a run, map the per-client steps over
the planned clients, and build the planned month with dbt. :func:`client_runs`,
:func:`prepare_clients`, :func:`month_build` and :func:`marts_snapshot` are those pieces; each DAG file only says
how they connect to what is its own (the gates and publishing; the watch).
"""

from __future__ import annotations

from airflow.sdk import task, task_group

from roi_pipeline.orchestration.dbt import dbt_stage
from roi_pipeline.orchestration.defaults import WAREHOUSE_POOL

#: The planning task's XCom, as the templates of the tasks that read it at run time.
PLANNED_MONTH = "{{ ti.xcom_pull(task_ids='plan')['report_month'] }}"
PLANNED_WAREHOUSE = "{{ ti.xcom_pull(task_ids='plan')['warehouse'] }}"


def client_runs(planned):
    """One entry per client to process (``planned["runs"]``): what the client steps map over."""

    @task(task_id="client_runs")
    def runs(planned: dict) -> list:
        return planned["runs"]

    return runs(planned)


def prepare_clients(runs, *, raw_gate: bool, group_id: str = "prepare", prefix_group_id: bool = True):
    """Per client (a mapped task group, one map index per client): extract -> ingest, then the
    raw gate when ``raw_gate``. Returns the mapped output of the group's last task; a client
    whose step failed has no entry, and never stops the others."""

    @task_group(group_id=group_id, prefix_group_id=prefix_group_id)
    def prepare(run: dict):
        @task
        def extract(run: dict) -> dict:
            from roi_pipeline.orchestration.steps import extract_client

            return extract_client(run["client_id"], run["month"])

        @task(pool=WAREHOUSE_POOL)
        def ingest(extracted: dict) -> dict:
            from roi_pipeline.orchestration.steps import ingest_client

            return ingest_client(extracted["client_id"], extracted["month"])

        @task(task_id="raw_gate", pool=WAREHOUSE_POOL)
        def gate(ingested: dict) -> dict:
            from roi_pipeline.orchestration.steps import raw_gate_client

            return raw_gate_client(ingested["client_id"], ingested["month"])

        ingested = ingest(extract(run))
        return gate(ingested) if raw_gate else ingested

    return prepare.expand(run=runs)


def marts_snapshot():
    """The read-only copy of the marts for analysts, BI tools and the hourly alerts (task
    ``marts_snapshot``, in the writers' pool: it reads the warehouse while no build writes)."""

    @task(task_id="marts_snapshot", pool=WAREHOUSE_POOL)
    def snapshot() -> dict:
        from roi_pipeline.orchestration.steps import publish_marts_snapshot

        return publish_marts_snapshot()

    return snapshot()


def month_build():
    """The planned month's dbt build (task ``dbt_build``), month and warehouse from the plan."""
    return dbt_stage("dbt_build", report_month=PLANNED_MONTH, warehouse=PLANNED_WAREHOUSE)
