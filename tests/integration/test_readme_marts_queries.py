"""The README's "Querying the marts" questions, run as written, answer what the landing files say.

Each ```sql block of that README section runs unchanged on the sample's marts (a copy of the
session's warehouse, read-only); its answer is checked against tests/integration/roi_reference.py,
which recomputes the figures in plain Python from the landing files and client files, never
from the marts. A README edit that breaks a query, or a mart that drifts from docs/method.md,
fails here.
"""

from __future__ import annotations

import re
import shutil
from collections import defaultdict
from datetime import date

import duckdb
import pytest

from roi_pipeline.settings import PROJECT_DIR
from tests.integration import roi_reference as ref
from tests.integration.roi_reference import compute_client, month_range

pytestmark = pytest.mark.slow

MONTHS = month_range(date(2025, 8, 1), date(2026, 10, 1))
TOL = {"abs": 0.051}  # the README rounds hours to one decimal
MONEY = {"abs": 0.0051}  # and money to cents
#: docs/method.md: production runs that ended in error, crashed or timed out.
FAILED = {"error", "crashed", "timeout", "timed_out"}


def readme_queries() -> list[str]:
    text = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    section = text.split("### Querying the marts", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    return re.findall(r"```sql\n(.*?)```", section, flags=re.S)


@pytest.fixture(scope="module")
def answers(sample_pipeline, tmp_path_factory) -> list[list[tuple]]:
    copy = tmp_path_factory.mktemp("readme_sql") / "warehouse.duckdb"
    shutil.copyfile(sample_pipeline.warehouse, copy)
    wal = sample_pipeline.warehouse.with_name(sample_pipeline.warehouse.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, copy.with_name(copy.name + ".wal"))
    with duckdb.connect(str(copy), read_only=True) as con:
        return [con.execute(sql).fetchall() for sql in readme_queries()]


@pytest.fixture(scope="module")
def reference(sample_pipeline):
    return {c.client_id: (c, compute_client(c, sample_pipeline.landing_dir, MONTHS)) for c in sample_pipeline.clients}


def test_the_readme_has_five_questions():
    assert len(readme_queries()) == 5


def test_hours_saved_per_client_per_quarter(answers, reference):
    expected: dict[tuple, list[float]] = defaultdict(list)
    for cid, (_, r) in reference.items():
        for month in MONTHS:
            if month in r.client_months:
                expected[(cid, month.year, (month.month - 1) // 3 + 1)].append(r.client_months[month].hours_saved)
    got = {(cid, y, q): (hours, months) for cid, y, q, hours, months in answers[0]}
    assert set(got) == set(expected)
    for key, hours in expected.items():
        assert got[key][1] == len(hours), key
        assert got[key][0] == pytest.approx(sum(hours), **TOL), key


def _error_rates(client, landing) -> dict[tuple[str, date], float]:
    """failed ÷ (successful + failed) over the production runs on the workflow's live days."""
    tz = ref.ZoneInfo(client.timezone)
    runs = ref.load_runs(client, landing)
    by_id = {(wf.platform, str(pid)): wf for wf in client.workflows for pid in wf.platform_workflow_ids}
    counts: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0])
    for run in runs.values():
        wf = by_id.get((run.platform, run.workflow_id))
        if wf is None or run.started is None or not ref.is_production(run, runs):
            continue
        day = ref.local_date(run.started, tz)
        if not ref.is_live_day(wf, day):
            continue
        key = (wf.key, ref.month_of(day))
        if run.status == "success":
            counts[key][0] += 1
        elif run.status in FAILED:
            counts[key][1] += 1
    return {key: failed / (ok + failed) for key, (ok, failed) in counts.items() if ok + failed}


def test_workflows_whose_error_rate_rose_three_months_running(answers, reference, sample_pipeline):
    expected = set()
    for cid, (client, _) in reference.items():
        rates = _error_rates(client, sample_pipeline.landing_dir)
        names = {wf.key: wf.name for wf in client.workflows}
        for key, month in rates:
            back = [ref.month_of(month)]
            for _ in range(3):
                back.append(ref.prev_month(back[-1]))
            chain = [rates.get((key, m)) for m in back]  # this month, 1, 2, 3 months back
            if None not in chain and chain[0] > chain[1] > chain[2] > chain[3]:
                expected.add((cid, names[key], month))
    got = {(cid, name, month) for cid, name, month, *_ in answers[1]}
    assert expected, "the sample no longer has a workflow whose error rate rose three months running"
    assert got == expected


def test_missed_guarantees_and_their_shortfall(answers, reference):
    expected = {
        (cid, month): client.guarantee_hours - r.client_months[month].hours_saved
        for cid, (client, r) in reference.items()
        for month in MONTHS
        if month in r.client_months and r.client_months[month].guarantee_verdict == "missed"
    }
    got = {(cid, missed): (credited, shortfall) for cid, missed, credited, shortfall, _, _ in answers[2]}
    assert expected, "the sample no longer misses a guarantee"
    assert set(got) == set(expected)
    for key, shortfall in expected.items():
        assert got[key][0] == ref.next_month(key[1])
        assert got[key][1] == pytest.approx(shortfall, abs=1e-6), key


def test_value_against_cost_per_client_and_year(answers, reference):
    expected: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for cid, (_, r) in reference.items():
        for month in MONTHS:
            if month in r.client_months:
                cm = r.client_months[month]
                expected[(cid, month.year)][0] += cm.value_created
                expected[(cid, month.year)][1] += cm.total_cost
    got = {(cid, year): (value, cost, net) for cid, year, _, value, cost, net in answers[3]}
    assert set(got) == set(expected)
    for key, (value, cost) in expected.items():
        assert got[key][0] == pytest.approx(value, **MONEY), key
        assert got[key][1] == pytest.approx(cost, **MONEY), key
        assert got[key][2] == pytest.approx(round(value, 2) - round(cost, 2), abs=0.0151), key


def test_top_three_workflows_by_hours_saved(answers, reference):
    october = date(2026, 10, 1)
    expected = []
    for cid, (client, r) in sorted(reference.items()):
        names = {wf.key: wf.name for wf in client.workflows}
        rows = [(wm.hours_saved, key) for (key, m), wm in r.workflow_months.items() if m == october]
        rows = sorted((row for row in rows if row[0] is not None), key=lambda row: (-row[0], row[1]))[:3]
        expected += [(cid, names[key], hours) for hours, key in rows]
    got = answers[4]
    assert [(cid, name) for cid, name, _ in got] == [(cid, name) for cid, name, _ in expected]
    for (_, _, hours), (_, _, want) in zip(got, expected, strict=True):
        assert hours == pytest.approx(want, **TOL)
