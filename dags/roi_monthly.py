"""
### roi_monthly: every active client's report for the month that has just settled

Runs once a month for the previous calendar month: the run's data interval is the month
(`CronDataIntervalTimetable` on the 1st, UTC), and `wait_for_settle` (deferrable, no worker
slot) holds it until the data has settled: by default 3 days 6 hours after the month ends,
i.e. the 4th at 06:00 UTC (`settle_minutes`). Past months (backfills, manual runs) do not wait.

Per client (dynamic task mapping, one map index per client, so one client's failure or
hold-back never stops the others): **extract** (API sources; drop-folder sources skipped)
→ **ingest** → **raw gate**; then one **dbt build** of the month (Cosmos, `ROI_REPORT_MONTH`)
and, beside the rest, the read-only **marts snapshot** and the dbt **docs site** for analysts; then per client
**mart gate** → **render** → **e-mail**; then the **portfolio** page and the run **summary**
(red when any client failed; held-back reports are not failures).

Every task that writes the DuckDB warehouse runs in the one-slot `duckdb_writer` pool.

Manual run for one month and some clients: trigger with
`{"month": "2026-10", "clients": ["bondi-physio"]}`. Backfill N months:
`airflow backfill create --dag-id roi_monthly --from-date 2026-08-01 --to-date 2026-10-01`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor
from airflow.sdk import Asset, CronDataIntervalTimetable, Param, TriggerRule, dag, task, task_group

from roi_pipeline.orchestration.defaults import DEFAULT_ARGS, MONTHLY_DAG_ID, SETTLE_MINUTES, TAGS, WAREHOUSE_POOL
from roi_pipeline.orchestration.groups import client_runs, marts_snapshot, month_build, prepare_clients
from roi_pipeline.orchestration.months import MONTH_PATTERN

MARTS = Asset("roi_marts")
REPORTS = Asset("roi_reports")


@dag(
    dag_id=MONTHLY_DAG_ID,
    schedule=CronDataIntervalTimetable("0 0 1 * *", timezone="UTC"),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # months run in order: a report's history needs the months before it
    dagrun_timeout=timedelta(days=6),
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "monthly"],
    doc_md=__doc__,
    params={
        "month": Param(
            None,
            type=["null", "string"],
            pattern=MONTH_PATTERN,
            description="Process this month (YYYY-MM) instead of the run's data interval.",
        ),
        "clients": Param(
            [],
            type="array",
            items={"type": "string"},
            description="Only these client ids (default: every active client).",
        ),
        "settle_minutes": Param(
            SETTLE_MINUTES,
            type="integer",
            minimum=0,
            description="Wait this long after the month ends before processing it.",
        ),
        "email_reports": Param(
            None,
            type=["null", "boolean"],
            description="E-mail the PDFs to report_contacts (default: ROI_EMAIL_REPORTS).",
        ),
    },
)
def roi_monthly():
    settled = TimeDeltaSensor(
        task_id="wait_for_settle",
        # A run for an explicit month, or with no data interval, has nothing to wait for.
        delta="{{ 0 if (params.month or not data_interval_end) else params.settle_minutes }}",
        deferrable=True,
        timeout=timedelta(days=5),
    )

    @task
    def plan(**context) -> dict:
        from roi_pipeline.orchestration.steps import plan_month

        params = context["params"]
        return plan_month(
            data_interval_start=context.get("data_interval_start"),
            data_interval_end=context.get("data_interval_end"),
            run_after=context["dag_run"].run_after,
            month=params.get("month"),
            clients=params.get("clients"),
        )

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def ready_for_build(planned_runs: list, gated: list) -> list:
        """Clients whose inputs were ingested and checked (held back or not) go on to the build."""
        done = {g["client_id"] for g in gated if g}
        return [r for r in planned_runs if r["client_id"] in done]

    @task(outlets=[MARTS])
    def marts_built(runs: list) -> list:
        """The marts hold the month: the clients that were ready go on to be published."""
        return runs

    @task(pool=WAREHOUSE_POOL)
    def docs_site() -> dict:
        """The dbt docs as one static page beside the reports (README: Querying the marts)."""
        from roi_pipeline.docs_site import publish_for_dag

        return publish_for_dag()

    @task_group(group_id="publish")
    def publish(run: dict):
        @task(pool=WAREHOUSE_POOL)
        def mart_gate(run: dict) -> dict:
            from roi_pipeline.orchestration.steps import mart_gate_client

            return mart_gate_client(run["client_id"], run["month"])

        @task(outlets=[REPORTS])
        def render(gated: dict) -> dict:
            from roi_pipeline.orchestration.steps import render_client

            return render_client(gated["client_id"], gated["month"])

        @task
        def email(rendered: dict, **context) -> dict:
            from roi_pipeline.orchestration.steps import email_client, email_enabled

            return email_client(rendered, enabled=email_enabled(context["params"].get("email_reports")))

        return email(render(mart_gate(run)))

    @task(trigger_rule=TriggerRule.ALL_DONE, outlets=[REPORTS])
    def portfolio(planned: dict, outcomes: list) -> str:
        from roi_pipeline.orchestration.steps import render_portfolio_page

        ids = [r["client_id"] for r in planned["runs"]]
        return render_portfolio_page(planned["report_month"], ids, list(outcomes))

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def summary(planned: dict, outcomes: list) -> dict:
        from roi_pipeline.orchestration.steps import summarize

        return summarize(planned, list(outcomes))

    planned = plan()
    settled >> planned
    runs = client_runs(planned)
    gated = prepare_clients(runs, raw_gate=True)
    ready = ready_for_build(runs, gated)
    build = month_build()
    built = marts_built(ready)
    ready >> build >> built
    build >> marts_snapshot() >> docs_site()  # beside the publishing: a failed copy or page holds no report
    outcomes = publish.expand(run=built)
    page = portfolio(planned, outcomes)
    page >> summary(planned, outcomes)


roi_monthly()
