"""
### roi_guarantee_watch: every morning, whose guaranteed hours are at risk this month

Daily at 07:00 UTC: per client (mapped) **extract** → **ingest** the month in progress, one
**dbt build** with `ROI_REPORT_MONTH` = that month (Cosmos), then **watch** reads
`marts.fct_client_months` (`projected_month_hours`, `is_guarantee_at_risk`) and writes
`<reports>/_watch/<YYYY-MM>/<day>.json`; clients at risk are logged as warnings. After the
build, **marts_snapshot** refreshes the readers' copy of the marts, so analysts and the
hourly `roi_alerts` see each day's runs, not only each month's.

The month in progress is the clients' local month at the run's logical date (never the
wall clock). Writers run in the one-slot `duckdb_writer` pool shared with `roi_monthly`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, CronTriggerTimetable, Param, TriggerRule, dag, task

from roi_pipeline.orchestration.defaults import DEFAULT_ARGS, TAGS, WATCH_DAG_ID
from roi_pipeline.orchestration.groups import client_runs, marts_snapshot, month_build, prepare_clients

WATCH = Asset("roi_guarantee_watch")


@dag(
    dag_id=WATCH_DAG_ID,
    schedule=CronTriggerTimetable("0 7 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=6),
    default_args={**DEFAULT_ARGS, "retries": 1},
    tags=[*TAGS, "daily", "guarantee-watch"],
    doc_md=__doc__,
    params={"clients": Param([], type="array", items={"type": "string"}, description="Only these client ids.")},
)
def roi_guarantee_watch():
    @task
    def plan(**context) -> dict:
        from roi_pipeline.orchestration.steps import plan_watch

        run = context["dag_run"]
        return plan_watch(at=run.logical_date or run.run_after, clients=context["params"].get("clients"))

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def ingested(planned: dict, done: list) -> dict:
        return {**planned, "ingested": [d["client_id"] for d in done if d]}

    @task(outlets=[WATCH])
    def watch(planned: dict, **context) -> dict:
        from roi_pipeline.orchestration.watch import guarantee_watch

        run = context["dag_run"]
        day = (run.logical_date or run.run_after).date()
        return guarantee_watch(planned["report_month"], planned["ingested"], day=day)

    planned = plan()
    # the group's tasks keep their own ids here (extract, ingest): no "prepare." prefix
    done = prepare_clients(client_runs(planned), raw_gate=False, prefix_group_id=False)
    ready = ingested(planned, done)
    build = month_build()
    ready >> build >> watch(ready)
    build >> marts_snapshot()  # the day's figures for readers: the hourly alerts read this copy


roi_guarantee_watch()
