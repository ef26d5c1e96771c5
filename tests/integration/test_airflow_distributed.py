"""The docker-compose topology, natively: PostgreSQL + Redis + api-server + scheduler +
dag-processor + triggerer + two Celery workers, running roi_monthly on the sample data.

Needs the PostgreSQL (127.0.0.1:5432, user postgres, trust) and Redis (127.0.0.1:6379) of
this machine; a throwaway metadata database and a Redis db number of its own are created
and dropped here. Checks that task instances ran on both workers and that the reports are
byte-identical to an in-process (``dag.test()``) run of the same month.
"""

from __future__ import annotations

import json
import os
import time
import uuid

import pendulum
import pytest

from tests.dags.harness import (
    ROOT,
    TRIGGER_CONF,
    TRIGGER_LOGICAL_DATE,
    Processes,
    deployment_env,
    free_port,
    make_sample,
    run_dag,
    tree_digest,
    wait_for_runs,
    with_data,
)

pytestmark = [pytest.mark.distributed, pytest.mark.slow]

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
REDIS_DB = 13


def _services_up() -> str | None:
    import socket

    for port in (5432, 6379):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except OSError:
            return f"nothing listens on 127.0.0.1:{port}"
    try:
        import celery  # noqa: F401
        from airflow.providers.celery.executors import celery_executor  # noqa: F401
    except ImportError:
        return "apache-airflow-providers-celery is not installed"
    return None


@pytest.fixture
def metadata_db():
    psycopg2 = pytest.importorskip("psycopg2")
    name = f"roi_airflow_test_{uuid.uuid4().hex[:8]}"
    con = psycopg2.connect(dbname="postgres", **PG)
    con.autocommit = True
    con.cursor().execute(f'create database "{name}"')
    try:
        yield name
    finally:
        con.cursor().execute(f'drop database if exists "{name}" with (force)')
        con.close()


@pytest.fixture
def redis_db():
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    client.flushdb()
    try:
        yield REDIS_DB
    finally:
        client.flushdb()
        client.close()


def test_celery_deployment_runs_the_month_on_both_workers(tmp_path, metadata_db, redis_db):
    reason = _services_up()
    if reason:
        # `make test-services` (CI) requires the services: there a skip would hide a broken run
        if os.environ.get("ROI_REQUIRE_SERVICES"):
            pytest.fail(reason)
        pytest.skip(reason)
    sample = make_sample(tmp_path / "sample", clients=4)
    embedded = with_data(sample, tmp_path / "embedded")
    logical_date = pendulum.parse(TRIGGER_LOGICAL_DATE)
    run, states, _ = run_dag("roi_monthly", embedded, logical_date=logical_date, conf=TRIGGER_CONF)
    assert str(run.state) == "success", states

    deployed = with_data(sample, tmp_path / "deployed")
    port = free_port()
    sql = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{metadata_db}"
    env = deployment_env(
        tmp_path / "airflow_home", deployed, port=port, executor="CeleryExecutor",
        extra={
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql,
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{redis_db}",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql://postgres@127.0.0.1:5432/{metadata_db}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.dags.worker_hostname.worker_hostname",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",  # only roi_monthly is unpaused
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        },
    )  # fmt: skip
    procs = Processes(env, tmp_path / "logs")
    try:
        procs.airflow("db", "migrate")
        procs.airflow("pools", "import", str(ROOT / "airflow" / "pools.json"))
        procs.start("api-server", "api-server", "--port", str(port))
        procs.wait_for_http(f"http://127.0.0.1:{port}/api/v2/monitor/health")
        procs.start("scheduler", "scheduler")
        procs.start("dag-processor", "dag-processor")
        procs.start("triggerer", "triggerer")
        for name in ("worker-a", "worker-b"):
            procs.start(name, "celery", "worker", "--celery-hostname", f"{name}@%h", "--concurrency", "2",
                        "--without-mingle", "--without-gossip", env={"ROI_TEST_WORKER_NAME": name})  # fmt: skip
        deadline = time.monotonic() + 180
        while "roi_monthly" not in procs.airflow("dags", "list", "-o", "plain"):
            procs.check_alive()
            assert time.monotonic() < deadline, "the dag-processor did not register roi_monthly"
            time.sleep(3)
        procs.airflow("dags", "unpause", "roi_monthly")
        # pinned month (the CLI infers the data interval from the wall clock): see test_service_clock.py
        procs.airflow("dags", "trigger", "roi_monthly", "--logical-date", TRIGGER_LOGICAL_DATE,
                      "--conf", json.dumps(TRIGGER_CONF))  # fmt: skip
        runs = wait_for_runs(procs, "roi_monthly", 1, timeout=1800)  # a loaded machine
        assert runs[0]["state"] == "success", runs
        hosts = host_counts(sql.replace("+psycopg2", ""))
    finally:
        procs.stop()
    print(json.dumps(hosts))
    assert {"worker-a", "worker-b"} <= set(hosts), hosts
    assert tree_digest(deployed.reports) == tree_digest(embedded.reports)


def host_counts(dsn: str) -> dict[str, int]:
    import psycopg2

    con = psycopg2.connect(dsn)
    try:
        cur = con.cursor()
        cur.execute(
            "select hostname, count(*) from task_instance where dag_id = 'roi_monthly' and state = 'success' "
            "group by hostname"
        )
        return dict(cur.fetchall())
    finally:
        con.close()
