"""Shared fixtures: a sample warehouse built once per test session (generate -> ingest -> dbt build)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from roi_pipeline.config import ClientConfig, load_clients
from roi_pipeline.ingest import ingest
from roi_pipeline.sample.generator import generate
from roi_pipeline.transform import run_dbt


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
