"""Analysts read the marts while the pipeline writes the warehouse: the read-only snapshot.

While ``roi ingest`` / ``roi build`` hold the DuckDB warehouse, no other process can open it.
After each successful build the marts are published to ``marts_snapshot.duckdb`` beside it
(README: "Querying the marts"). These tests read the snapshot the way a notebook does: from
another process, with ``duckdb.connect(path, read_only=True)``, while a second build runs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from roi_pipeline.cli import main as roi
from roi_pipeline.settings import Locations
from tests.dags.harness import Sample, environment, make_sample

pytestmark = pytest.mark.slow

MONTH = "2026-10"
#: Far below a build (tens of seconds): a reader that waited for the writer would exceed it.
MAX_QUERY_SECONDS = 5.0

#: A reader in its own process. ``hold``: one connection kept open, a query after another;
#: ``reopen``: a new connection for every query. Prints "ready <clients>" once it has read
#: the snapshot, then works until the stop file appears and prints what it saw as JSON.
READER = r"""
import json, sys, time
from pathlib import Path
import duckdb

mode, snapshot, stop = sys.argv[1], sys.argv[2], Path(sys.argv[3])
QUERY = (
    "select (select count(*) from marts.dim_clients), "
    "(select count(*) from marts.fct_client_months), "
    "(select sum(hash(t)::hugeint)::varchar from marts.fct_client_months t)"
)
seen, errors, con = [], [], None
if mode == "hold":
    con = duckdb.connect(snapshot, read_only=True)
while True:
    stopping = stop.exists()
    started = time.monotonic()
    try:
        if mode == "hold":
            row = con.execute(QUERY).fetchone()
        else:
            with duckdb.connect(snapshot, read_only=True) as fresh:
                row = fresh.execute(QUERY).fetchone()
        seen.append([started, time.monotonic() - started, list(row)])
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    if len(seen) == 1:
        print("ready", seen[0][2][0], flush=True)
    if stopping:
        break
    time.sleep(0.05)
print(json.dumps({"seen": seen, "errors": errors}), flush=True)
"""


def copy_clients(generated: Sample, sample: Sample, client_ids: list[str]) -> None:
    sample.clients.mkdir(parents=True, exist_ok=True)
    sample.landing.mkdir(parents=True, exist_ok=True)
    shutil.copy(generated.clients / "_consultancy.yaml", sample.clients)
    for client_id in client_ids:
        shutil.copy(generated.clients / f"{client_id}.yaml", sample.clients)
        shutil.copytree(generated.landing / client_id, sample.landing / client_id)


def client_ids(generated: Sample) -> list[str]:
    return sorted(p.stem for p in generated.clients.glob("*.yaml") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Sample:
    """Three sample clients, two months (read-only: the tests copy what they need)."""
    return make_sample(tmp_path_factory.mktemp("snapshot-sample"), clients=3, months=2, end_month=MONTH)


@pytest.fixture(scope="module")
def built(generated, tmp_path_factory) -> Sample:
    """Two of the three clients ingested and built with the `roi` commands."""
    base = tmp_path_factory.mktemp("snapshot-run")
    sample = Sample(base, base / "landing", base / "clients", base / "wh" / "warehouse.duckdb", base / "reports")
    copy_clients(generated, sample, client_ids(generated)[:2])
    with environment(sample.env()):
        assert roi(["ingest"]) == 0
        assert roi(["build", "--month", MONTH]) == 0
    return sample


def snapshot_path(sample: Sample) -> Path:
    with environment(sample.env()):
        return Locations.from_env().marts_snapshot


def tables_and_checksums(path: Path) -> dict[str, tuple]:
    """Each marts table: its columns and types, row count and an order-free checksum of its rows."""
    out = {}
    with duckdb.connect(str(path), read_only=True) as con:
        names = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        for name in names:
            columns = con.execute(f'describe marts."{name}"').fetchall()
            count, checksum = con.execute(f'select count(*), sum(hash(t)::hugeint) from marts."{name}" t').fetchone()
            out[name] = ([(c[0], c[1]) for c in columns], count, checksum)
    return out


def test_the_snapshot_location_comes_from_one_place():
    assert Locations.from_env({"ROI_WAREHOUSE": "/srv/roi/wh.duckdb"}).marts_snapshot == Path(
        "/srv/roi/marts_snapshot.duckdb"
    )
    moved = {"ROI_WAREHOUSE": "/srv/roi/wh.duckdb", "ROI_MARTS_SNAPSHOT": "/srv/bi/marts.duckdb"}
    assert Locations.from_env(moved).marts_snapshot == Path("/srv/bi/marts.duckdb")


def test_the_snapshot_holds_every_marts_table_as_the_warehouse_does(built):
    snapshot = snapshot_path(built)
    assert snapshot == built.warehouse.parent / "marts_snapshot.duckdb"
    in_warehouse = tables_and_checksums(built.warehouse)
    assert {"dim_clients", "fct_client_months", "rpt_portfolio_months", "rpt_unregistered_workflow_months"} <= set(
        in_warehouse
    )
    assert in_warehouse["fct_client_months"][1] > 0
    assert tables_and_checksums(snapshot) == in_warehouse
    assert not list(snapshot.parent.glob(".marts_snapshot*")), "no temporary file is left behind"


def test_readers_never_wait_for_a_build_and_a_new_connection_sees_the_new_marts(built, generated, tmp_path):
    snapshot = snapshot_path(built)
    stop = tmp_path / "stop"
    readers = {
        mode: subprocess.Popen(
            [sys.executable, "-c", READER, mode, str(snapshot), str(stop)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for mode in ("hold", "reopen")
    }
    try:
        for mode, reader in readers.items():
            assert reader.stdout.readline().split() == ["ready", "2"], f"{mode}: {reader.stderr.read()}"
        copy_clients(generated, built, client_ids(generated)[2:])  # the third client arrives
        killed = snapshot.with_name(f".{snapshot.name}.99999.tmp")  # left by a run killed while copying
        killed.write_bytes(b"half a copy")
        with environment(built.env()):
            started = time.monotonic()
            assert roi(["ingest"]) == 0
            assert roi(["build", "--month", MONTH]) == 0
            finished = time.monotonic()
        time.sleep(1.0)  # a few more queries after the swap
    finally:
        stop.touch()
        results = {}
        for mode, reader in readers.items():
            out, err = reader.communicate(timeout=120)
            assert reader.returncode == 0, f"{mode}: {err}"
            results[mode] = json.loads(out.strip().splitlines()[-1])

    for mode, result in results.items():
        assert result["errors"] == [], mode
        during = [s for s in result["seen"] if started <= s[0] and s[0] + s[1] <= finished]
        assert len(during) >= 10, f"{mode}: the reader was not answered while the build ran"
        assert max(s[1] for s in result["seen"]) < MAX_QUERY_SECONDS, f"{mode}: a query waited"

    # The open connection reads its file as it was, whole, throughout.
    held = {json.dumps(s[2]) for s in results["hold"]["seen"]}
    assert len(held) == 1 and json.loads(held.pop())[0] == 2
    # New connections see the old snapshot, then the new one: never anything in between.
    opened = [s[2] for s in results["reopen"]["seen"]]
    switch = next(i for i, row in enumerate(opened) if row != opened[0])
    assert opened[0][0] == 2 and opened[-1][0] == 3
    assert all(row == opened[0] for row in opened[:switch]) and all(row == opened[-1] for row in opened[switch:])

    # A connection opened now sees the new build, equal to the warehouse's marts.
    with duckdb.connect(str(snapshot), read_only=True) as con:
        assert con.execute("select count(*) from marts.dim_clients").fetchone()[0] == 3
    assert tables_and_checksums(snapshot) == tables_and_checksums(built.warehouse)
    assert not killed.exists(), "the next publication removes a killed run's temporary file"
