"""
### roi_alerts: tell a person when something is wrong, once, and when it clears

Hourly (`ROI_ALERTS_CRON` changes it): one **check** at the run's logical date finds, per
client, failure spikes and silent daily workflows (marts snapshot, read-only: never waits
for a build), guarantees at risk (the guarantee watch's latest result) and stale extractions
(`_extracts.json`). Each incident (client, kind, subject) is recorded in
`<reports>/_alerts/<client>.json` and told once when it opens and once when it clears, on the
client's route (`alerts:` in its file: e-mail via `roi_smtp`, Slack / Teams webhook
connections; default `ROI_ALERT_EMAIL`), held during the client's quiet hours.
Logic: `roi_pipeline.alerts`.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, task

from roi_pipeline.orchestration.defaults import DEFAULT_ARGS, TAGS


@dag(
    dag_id="roi_alerts",
    schedule=CronTriggerTimetable(os.environ.get("ROI_ALERTS_CRON", "0 * * * *"), timezone="UTC"),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=50),
    default_args={**DEFAULT_ARGS, "retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=[*TAGS, "alerts"],
    doc_md=__doc__,
    params={"clients": Param([], type="array", items={"type": "string"}, description="Only these client ids.")},
)
def roi_alerts():
    @task
    def check(**context) -> dict:
        from roi_pipeline.alerts.run import check_alerts

        run = context["dag_run"]
        return check_alerts(now=run.logical_date or run.run_after, clients=context["params"].get("clients") or None)

    check()


roi_alerts()
