"""roi_monthly end to end, in-process (``dag.test()``), on generated sample data.

One month for every client, from an empty warehouse: each client's report is published with
the figures of the marts. Then a run with one broken client, on a warehouse that already holds
every month (the session's built sample: the month re-delivered broken after earlier runs):
the others are published, the broken one is held back with its reasons recorded although its
earlier figures for the month are in the marts, and a client file that does not load fails
the run's summary without stopping anyone.

Both runs start from the session's generated sample (tests/conftest.py), each on its own copy
of the landing and client files.
"""

from __future__ import annotations

import json
import shutil

import pendulum
import pytest

from tests.dags.harness import Sample, environment, run_dag, xcom

pytestmark = pytest.mark.slow

MONTH = "2026-10"
#: A manual run at the start of November: its data interval is October.
NOVEMBER = pendulum.datetime(2026, 11, 1, tz="UTC")


def own_copy(sample_pipeline, base, *, built: bool) -> Sample:
    """The session sample's landing and client files copied under ``base``; its built warehouse
    too when ``built`` (else the DAG starts from no warehouse at all)."""
    shutil.copytree(sample_pipeline.landing_dir, base / "landing")
    shutil.copytree(sample_pipeline.clients_dir, base / "clients")
    s = Sample(base, base / "landing", base / "clients", base / "wh" / "warehouse.duckdb", base / "reports")
    if built:
        s.warehouse.parent.mkdir(parents=True)
        shutil.copyfile(sample_pipeline.warehouse, s.warehouse)
        wal = sample_pipeline.warehouse.with_name(sample_pipeline.warehouse.name + ".wal")
        if wal.exists():
            shutil.copyfile(wal, s.warehouse.with_name(s.warehouse.name + ".wal"))
    return s


def client_ids(sample) -> list[str]:
    return sorted(p.stem for p in sample.clients.glob("*.yaml") if not p.name.startswith("_"))


def mart_row(warehouse, client_id: str) -> dict:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        cur = con.execute(
            "select * from marts.fct_client_months where client_id = ? and strftime(report_month, '%Y-%m') = ?",
            [client_id, MONTH],
        )
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchone(), strict=True))
    finally:
        con.close()


def close(a, b) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(float(a) - float(b)) < 0.006)


def test_one_month_publishes_every_clients_report_with_the_marts_figures(sample_pipeline, tmp_path):
    s = own_copy(sample_pipeline, tmp_path / "run", built=False)
    assert not s.warehouse.exists()
    with environment({"ROI_DOCS_SITE": "on"}):  # the suite turns the docs page off (tests/conftest.py)
        run, states, _ = run_dag("roi_monthly", s, logical_date=NOVEMBER)
    assert str(run.state) == "success", states
    plan = xcom(run, "plan")
    assert plan["report_month"] == MONTH
    ids = client_ids(s)
    assert [r["client_id"] for r in plan["runs"]] == ids
    assert states["prepare.ingest"] == ["success"] * len(ids)
    assert states["dbt_build"] == ["success"]

    summary = xcom(run, "summary")
    assert summary["published"] == ids and summary["held_back"] == {} and summary["failed"] == []
    for cid in ids:
        folder = s.reports / cid / MONTH
        assert {p.name for p in folder.iterdir()} >= {"report.html", "report.pdf", "report.json", "tasks.csv"}
        assert (folder / "report.pdf").read_bytes().startswith(b"%PDF")
        doc = json.loads((folder / "report.json").read_text())
        assert doc["month"] == MONTH and doc["status"] == "ok"
        row = mart_row(s.warehouse, cid)
        head = doc["headline"]
        for key in ("hours_saved", "value_created", "total_cost", "net_month", "roi", "fee_charged",
                    "guarantee_hours", "hours_vs_guarantee"):  # fmt: skip
            assert close(head[key], row[key]), (cid, key, head[key], row[key])
        assert head["guarantee_verdict"] == row["guarantee_verdict"]
        assert head["tasks_automated"] == row["tasks_automated"]
    portfolio = json.loads(next(s.reports.glob(f"_*/{MONTH}/portfolio.json")).read_text())
    assert portfolio["month"] == MONTH and portfolio["held_back"] == []
    # The analysts' dbt docs, published beside the reports after the build (README: Querying the marts).
    assert states["docs_site"] == ["success"]
    docs = (s.reports / "_docs" / "index.html").read_text()
    assert "MANIFEST.JSON INLINE DATA" not in docs and '"exposure.roi.monthly_client_report"' in docs
    assert str(s.base) not in docs  # no machine path in a published page


def test_a_broken_client_is_held_back_and_the_others_are_published(sample_pipeline, tmp_path):
    from roi_pipeline.quality import gate_status

    s = own_copy(sample_pipeline, tmp_path / "broken", built=True)
    ids = client_ids(s)
    broken = ids[0]
    assert mart_row(s.warehouse, broken)["client_id"] == broken  # its month is in the marts already
    october = sorted(p for p in (s.landing / broken / "n8n_executions").glob("*.json") if p.name[0] != "_")[-1]
    assert october.name == f"{MONTH}.json"
    october.write_text('{"data": [ {"id": "1", "workflowId"')  # truncated download: unreadable
    (s.clients / "zz-not-a-client.yaml").write_text("client_id: zz-not-a-client\nname: [unclosed\n")

    run, states, _ = run_dag("roi_monthly", s, logical_date=NOVEMBER)

    # the run is red (a client file does not load) but every other client went through
    assert str(run.state) == "failed"
    assert states["summary"] == ["failed"]
    assert states["publish.render"] == ["success"] * len(ids)
    for cid in ids[1:]:
        assert (s.reports / cid / MONTH / "report.pdf").is_file(), cid
    assert not (s.reports / broken / MONTH / "report.json").exists()

    rendered = {xcom(run, "publish.render", i)["client_id"]: xcom(run, "publish.render", i) for i in range(len(ids))}
    assert rendered[broken]["status"] == "held_back"
    assert any("unreadable_file" in r for r in rendered[broken]["reasons"]), rendered[broken]["reasons"]
    status = gate_status(s.warehouse, broken, MONTH)
    assert status.publishable is False and status.raw_publishable is False
    portfolio = json.loads(next(s.reports.glob(f"_*/{MONTH}/portfolio.json")).read_text())
    assert broken in json.dumps(portfolio["held_back"])
