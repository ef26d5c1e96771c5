"""The service tests' runs do not depend on the day the suite runs.

The service tests (tests/integration/test_airflow_backfill.py, test_airflow_distributed.py)
start a real scheduler and ask Airflow for runs: a backfill of three pinned months, and a
``airflow dags trigger``. Both once went red on the 2nd of a month: the scheduler also started
the latest scheduled month, and ``dags trigger`` takes its data interval from the wall clock
(not from ``--logical-date``), so it processed November, whose settle wait ran for days.

This test makes the same requests through the same Airflow functions the CLI calls
(``_create_backfill``, ``trigger_dag``), with the clock set to awkward instants, in seconds,
and checks what the service tests rely on: which runs exist, which month each one processes
for clients in far-apart zones, and that none of them waits for the settle period. The
settle wait is computed by the DAG's own ``wait_for_settle`` sensor.
"""

from __future__ import annotations

import functools
from datetime import timedelta

import pendulum
import pytest
import time_machine

from roi_pipeline.orchestration.months import report_month
from tests.dags.harness import (
    BACKFILL_CONF,
    BACKFILL_DATES,
    SERVICE_MONTHS,
    TRIGGER_CONF,
    TRIGGER_LOGICAL_DATE,
    deployment_env,
    load_dag,
    migrate_metadata_db,
)

DAG_ID = "roi_monthly"

# Awkward instants to run the suite at: the 1st-3rd of a month (the settle period, the moment
# a scheduled run appears), month and year ends, DST changes in Europe and the US, a leap day.
# The earliest is the first second after the last pinned month ends: Airflow backfills only
# intervals that ended before now (``data_interval.end < now``), and the sample's data end there.
CLOCKS = [
    "2026-11-01T00:00:01+00:00",
    "2026-11-01T06:30:00+00:00",  # US DST ends that night (2:00 EDT -> 1:00 EST)
    "2026-11-02T09:00:00+00:00",  # inside October's settle period
    "2026-12-01T00:00:00+00:00",
    "2026-12-02T12:27:00+00:00",  # the day the service tests first went red
    "2026-12-03T23:59:59+00:00",
    "2026-12-31T23:59:59+00:00",
    "2027-01-01T00:00:01+00:00",
    "2027-03-28T01:30:00+00:00",  # EU DST starts (01:00 UTC)
    "2027-10-31T00:59:59+00:00",  # EU DST ends at 01:00 UTC
    "2028-02-29T12:00:00+00:00",
]

# Zones far apart: the month a run processes is each client's local month.
ZONES = ["Pacific/Kiritimati", "Australia/Sydney", "Europe/London", "America/New_York", "Pacific/Pago_Pago"]


@pytest.fixture(scope="module")
def dag():
    """roi_monthly written to this session's metadata DB, as the dag-processor would."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    migrate_metadata_db()
    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    for bundle in manager.get_all_dag_bundles():
        if not bundle.is_initialized:
            bundle.initialize()
        bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        assert bag.import_errors == {}, bag.import_errors
        sync_bag_to_db(bag, bundle.name, bundle.version)
    from airflow.models.dagbag import DBDagBag
    from airflow.utils.session import create_session

    with create_session() as session:
        return DBDagBag().get_latest_version_of_dag(DAG_ID, session=session)


def _forget_runs() -> None:
    """Remove this test's runs and backfills, so each clock starts from the same metadata DB."""
    from airflow.models import DagRun
    from airflow.models.backfill import Backfill, BackfillDagRun
    from airflow.utils.session import create_session
    from sqlalchemy import delete, select

    with create_session() as session:
        backfill_ids = select(Backfill.id).where(Backfill.dag_id == DAG_ID)
        session.execute(delete(BackfillDagRun).where(BackfillDagRun.backfill_id.in_(backfill_ids)))
        session.execute(delete(DagRun).where(DagRun.dag_id == DAG_ID))
        session.execute(delete(Backfill).where(Backfill.dag_id == DAG_ID))


def _runs() -> list:
    from airflow.models import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        runs = session.query(DagRun).filter(DagRun.dag_id == DAG_ID).order_by(DagRun.logical_date).all()
        session.expunge_all()
        return runs


@functools.cache
def _sensor():
    """The DAG file's own wait_for_settle operator (its template, its base time and delta)."""
    return load_dag(DAG_ID).get_task("wait_for_settle")


def _settle_wait(dag, run, now) -> timedelta:
    """How long the DAG's wait_for_settle sensor would wait in ``run`` at instant ``now``."""
    sensor = _sensor()
    params = {**dag.params.dump(), **(run.conf or {})}
    context = {"params": params, "data_interval_end": run.data_interval_end, "dag_run": run}
    delta = sensor.render_template(sensor.delta, context)  # the templated field, as Airflow renders it
    operator = type(sensor)(task_id="probe", delta=delta, deferrable=True)
    target = operator._derive_base_time(context) + operator._resolve_delta()
    return max(timedelta(0), target - now)


def _months(run) -> set[str]:
    """The month the run's ``plan`` task gives each zone (the same function the task calls)."""
    return {
        report_month(
            zone,
            data_interval_start=run.data_interval_start,
            data_interval_end=run.data_interval_end,
            run_after=run.run_after,
            requested=(run.conf or {}).get("month"),
        )
        for zone in ZONES
    }


@pytest.mark.parametrize("clock", CLOCKS)
def test_the_service_tests_runs_are_the_same_whatever_the_day(dag, clock):
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.models.backfill import _create_backfill
    from airflow.utils.types import DagRunTriggeredByType

    now = pendulum.parse(clock)
    _forget_runs()
    try:
        with time_machine.travel(now, tick=False):
            # `airflow backfill create --from-date ... --to-date ... --dag-run-conf ...`
            _create_backfill(
                dag_id=DAG_ID, from_date=pendulum.parse(BACKFILL_DATES[0]), to_date=pendulum.parse(BACKFILL_DATES[1]),
                max_active_runs=1, reverse=False, dag_run_conf=BACKFILL_CONF, triggering_user_name="test",
            )  # fmt: skip
            backfilled = _runs()
            assert [_months(run) for run in backfilled] == [{m} for m in SERVICE_MONTHS]
            assert [_settle_wait(dag, run, now) for run in backfilled] == [timedelta(0)] * len(SERVICE_MONTHS)
            _forget_runs()

            # `airflow dags trigger roi_monthly --logical-date ... --conf ...` (the CLI's local client)
            trigger_dag(DAG_ID, triggered_by=DagRunTriggeredByType.CLI, logical_date=pendulum.parse(TRIGGER_LOGICAL_DATE),
                        conf=dict(TRIGGER_CONF))  # fmt: skip
            (triggered,) = _runs()
            assert _months(triggered) == {SERVICE_MONTHS[-1]}
            assert _settle_wait(dag, triggered, now) == timedelta(0)
    finally:
        _forget_runs()


def test_the_deployments_scheduler_starts_no_run_of_its_own(tmp_path, dag):
    """At any of those instants a scheduled run is due; the service deployments do not start it."""
    from airflow.timetables.base import TimeRestriction

    env = deployment_env(tmp_path / "home", _no_sample(tmp_path), port=1, executor="LocalExecutor")
    assert env["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] == "False"
    restriction = TimeRestriction(earliest=dag.start_date, latest=None, catchup=False)
    for clock in CLOCKS:
        with time_machine.travel(pendulum.parse(clock), tick=False):
            due = dag.timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
        assert due is not None and due.run_after <= pendulum.parse(clock), clock


def _no_sample(tmp_path):
    from tests.dags.harness import Sample

    base = tmp_path / "sample"
    return Sample(base, base / "landing", base / "clients", base / "warehouse.duckdb", base / "reports")
