"""The dbt project keeps its structure: the rules of tests/dbt/structure_rules.py.

Run against the real project (manifest from `dbt parse`, columns from the built sample
warehouse), and against deliberately broken manifests to show each rule bites.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import duckdb
import pytest
import yaml

from roi_pipeline.transform import DBT_DIR, dbt_work_dir, run_dbt
from tests.dbt import structure_rules as rules

EXCEPTIONS = DBT_DIR / "structure_exceptions.yml"


BUILT_MANIFEST = DBT_DIR / "target" / "manifest.json"  # `make setup` writes it (dbt parse)


def manifest_is_fresh(path: Path = BUILT_MANIFEST) -> bool:
    """The built manifest is newer than every source it is parsed from (the Makefile's list:
    models, macros, tests, dbt_project.yml), folders included, so a deleted file counts too."""
    if not path.is_file():
        return False
    built = path.stat().st_mtime
    sources = [DBT_DIR / "dbt_project.yml", DBT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "tests"):
        root = DBT_DIR / folder
        sources += [root, *root.rglob("*")] if root.exists() else []
    return all(p.stat().st_mtime < built for p in sources)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    """The project's manifest: the one `make setup` built when it is up to date (CI and most
    local runs), else a `dbt parse` of the project now. Either is dbt's parse of these files."""
    if manifest_is_fresh():
        return json.loads(BUILT_MANIFEST.read_text())
    warehouse = tmp_path_factory.mktemp("parse") / "warehouse.duckdb"
    result = run_dbt(["parse"], warehouse, quiet=True)
    assert result.success, result.failures
    return json.loads((dbt_work_dir(warehouse) / "target" / "manifest.json").read_text())


@pytest.fixture(scope="module")
def mart_columns(sample_pipeline) -> dict[str, list[str]]:
    with duckdb.connect(str(sample_pipeline.warehouse), read_only=True) as con:
        rows = con.execute(
            "select table_name, column_name from information_schema.columns where table_schema = 'marts'"
        ).fetchall()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return out


def accepted() -> set[tuple[str, str]]:
    entries = yaml.safe_load(EXCEPTIONS.read_text())["exceptions"]
    for entry in entries:
        assert entry.get("reason", "").strip(), f"exception without a reason: {entry}"
    return {(e["rule"], e["node"]) for e in entries}


def test_the_project_follows_the_structure_rules(manifest, mart_columns):
    violations = rules.all_violations(manifest, mart_columns)
    excepted = accepted()
    unexpected = [v for v in violations if (v[0], v[1]) not in excepted]
    assert unexpected == [], "\n".join(f"{r}: {n}: {d}" for r, n, d in unexpected)
    stale = excepted - {(v[0], v[1]) for v in violations}
    assert not stale, f"exceptions no longer needed (remove them from {EXCEPTIONS.name}): {sorted(stale)}"


def test_every_mart_and_column_is_documented(manifest, mart_columns):
    assert mart_columns, "the sample warehouse has marts"
    assert [v for v in rules.documentation(manifest, mart_columns) if v[0] != "documented_column_missing"] == []


# --- each rule bites on a deliberately bad change --------------------------------------


def _with_model(manifest: dict, name: str, path: str, **changes) -> dict:
    bad = copy.deepcopy(manifest)
    template = next(n for n in bad["nodes"].values() if n["resource_type"] == "model" and n["name"] == "dim_clients")
    node = {
        **copy.deepcopy(template),
        "name": name,
        "original_file_path": path,
        "unique_id": f"model.roi.{name}",
        **changes,
    }
    bad["nodes"][node["unique_id"]] = node
    return bad


def test_an_unprefixed_mart_is_caught(manifest):
    bad = _with_model(manifest, "client_summary", "models/marts/roi/client_summary.sql")
    assert ("naming_convention", "client_summary") in {(r, n) for r, n, _ in rules.naming(bad)}


def test_an_undocumented_mart_column_is_caught(manifest, mart_columns):
    columns = {**mart_columns, "dim_clients": [*mart_columns["dim_clients"], "secret_sauce"]}
    found = rules.documentation(manifest, columns)
    assert ("undocumented_column", "dim_clients", "secret_sauce") in found


def test_a_source_read_outside_staging_is_caught(manifest):
    bad = _with_model(
        manifest,
        "fct_shortcut",
        "models/marts/roi/fct_shortcut.sql",
        depends_on={"nodes": ["source.roi.n8n.n8n_executions"], "macros": []},
    )
    assert ("source_outside_staging", "fct_shortcut") in {(r, n) for r, n, _ in rules.dependencies(bad)}


def test_a_hard_coded_relation_is_caught(manifest):
    bad = _with_model(
        manifest, "fct_raw_peek", "models/marts/roi/fct_raw_peek.sql", raw_code="select * from raw.n8n_executions"
    )
    assert ("hard_coded_reference", "fct_raw_peek") in {(r, n) for r, n, _ in rules.hard_coded_references(bad)}


def test_a_model_without_a_key_test_is_caught(manifest):
    bad = _with_model(manifest, "dim_untested", "models/marts/roi/dim_untested.sql")
    assert ("missing_primary_key_test", "dim_untested") in {(r, n) for r, n, _ in rules.primary_key_tests(bad)}
