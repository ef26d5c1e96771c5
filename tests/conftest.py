"""Shared fixtures: a sample warehouse built once per test session (generate -> ingest -> dbt build)."""

from __future__ import annotations

import atexit
import os
import shutil
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

from roi_pipeline.config import ClientConfig, load_clients
from roi_pipeline.ingest import ingest
from roi_pipeline.sample.generator import generate
from roi_pipeline.transform import run_dbt

# The dbt docs page (roi_pipeline.docs_site) costs tens of seconds per fresh warehouse, and
# the suite builds dozens: only its own tests (tests/integration/test_docs_site.py) turn it on.
os.environ.setdefault("ROI_DOCS_SITE", "off")


@dataclass(frozen=True)
class SamplePipeline:
    landing_dir: Path
    clients_dir: Path
    warehouse: Path
    clients: list[ClientConfig]


def build_sample(base: Path, **generate_args) -> SamplePipeline:
    landing, clients_dir, warehouse = base / "landing", base / "clients", base / "warehouse.duckdb"
    generate(landing, clients_dir, **generate_args)
    loaded = load_clients(clients_dir)
    assert loaded.ok, loaded.errors
    report = ingest(landing, warehouse, loaded.clients)
    assert not report.failed and not report.client_errors
    result = run_dbt(["build"], warehouse, quiet=True)
    assert result.success, "\n".join(result.failures)
    return SamplePipeline(landing, clients_dir, warehouse, loaded.clients)


@pytest.fixture(scope="session")
def sample_pipeline(tmp_path_factory) -> SamplePipeline:
    """The default sample (4 clients, 15 months to 2026-10), built with every dbt test."""
    return build_sample(tmp_path_factory.mktemp("sample"))


#: A test that records this property (``record_property(SUMMARY_TABLE, text)``) gets its text
#: printed in the run's closing summary: a table a person should see in CI's log.
SUMMARY_TABLE = "summary_table"


def pytest_terminal_summary(terminalreporter):
    """Print the tables tests attached (also from pytest-xdist workers, whose own output is
    not shown: the property travels with the test's report)."""
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", None) != "call":
                continue
            for name, text in getattr(report, "user_properties", ()):
                if name == SUMMARY_TABLE:
                    terminalreporter.write_sep("=", report.nodeid.split("::")[0])
                    terminalreporter.write_line(str(text))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    """After pytest has removed a passing session's base temp directory (pyproject.toml:
    ``tmp_path_retention_policy``), remove its parent ``pytest-of-<user>`` too when that is
    empty, so a passing run leaves nothing in $TMPDIR (a failing one keeps its tmp_paths).
    Tried again at exit: a subprocess a test started may still have been writing there."""
    factory = getattr(session.config, "_tmp_path_factory", None)
    basetemp = getattr(factory, "_basetemp", None)
    if basetemp is None or getattr(factory, "_given_basetemp", None) is not None:
        return
    passed = exitstatus == 0 and getattr(factory, "_retention_policy", None) == "failed"
    _remove_session_temp(Path(basetemp), passed)
    atexit.register(_remove_session_temp, Path(basetemp), passed)


def _remove_session_temp(basetemp: Path, passed: bool) -> None:
    if passed:
        shutil.rmtree(basetemp, ignore_errors=True)
    parent = basetemp.parent
    with suppress(OSError):  # not empty: another session's, or a failed test's, directories
        current = parent / "pytest-current"
        if current.is_symlink() and not current.exists():
            current.unlink()
        parent.rmdir()
