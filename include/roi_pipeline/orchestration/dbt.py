"""dbt in Airflow through astronomer-cosmos: the month's ``dbt build`` as Airflow tasks.

:func:`dbt_stage` is what the DAG files call: one Cosmos ``DbtBuildLocalOperator`` task runs
the production ``dbt build`` of the month in a subprocess (``ROI_REPORT_MONTH`` in its
environment; every model and the client-scoped data tests, ``transform.PRODUCTION_BUILD_FLAGS``),
as ``roi build --month`` runs it in-process. dbt runs each model's tests right after it and skips the
descendants of a failure; the task log lists every node. One dbt start-up per run (~20 s for
the sample month on 2 cores). One task per model (a Cosmos ``DbtTaskGroup``) is not offered:
with DuckDB's single writer those tasks would run one at a time through the pool anyway,
each paying a dbt start-up and parse.

The manifest (for the structure tests and the docs) is produced by ``dbt parse``
(:func:`build_manifest`, ``python -m roi_pipeline.orchestration.dbt``, run by ``make setup``
and CI) at ``dbt_project/target/manifest.json`` (git-ignored; ``ROI_DBT_MANIFEST`` moves it).
dbt runs in a subprocess, so the DuckDB file is released when it ends, and every dbt task
runs in the one-slot ``duckdb_writer`` pool.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from roi_pipeline.orchestration.defaults import WAREHOUSE_POOL
from roi_pipeline.settings import PROJECT_DIR

DBT_DIR = PROJECT_DIR / "dbt_project"
PROFILE_NAME = "roi"


def manifest_path() -> Path:
    """Where the pre-built manifest is read from (``ROI_DBT_MANIFEST`` or the default)."""
    configured = os.environ.get("ROI_DBT_MANIFEST")
    return Path(configured).resolve() if configured else DBT_DIR / "target" / "manifest.json"


def dbt_executable() -> Path:
    """The dbt installed beside this interpreter (the project's virtualenv)."""
    return Path(sys.executable).parent / "dbt"


def build_manifest(target: Path | None = None) -> Path:
    """Run ``dbt parse`` and write ``manifest.json`` where the DAGs read it; returns its path."""
    import tempfile

    from dbt.cli.main import dbtRunner

    out = Path(target) if target else manifest_path()
    with tempfile.TemporaryDirectory(prefix="roi-dbt-parse-") as scratch:
        # parse needs a profile but no database: point the DuckDB path at a scratch dir.
        saved = os.environ.get("ROI_WAREHOUSE")
        os.environ["ROI_WAREHOUSE"] = str(Path(scratch) / "parse.duckdb")
        try:
            result = dbtRunner().invoke(
                [
                    "parse", "--quiet",
                    "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
                    "--target-path", str(out.parent), "--log-path", str(Path(scratch) / "logs"),
                ]
            )  # fmt: skip
        finally:
            if saved is None:
                os.environ.pop("ROI_WAREHOUSE", None)
            else:
                os.environ["ROI_WAREHOUSE"] = saved
    if not result.success:
        raise RuntimeError(f"dbt parse failed: {result.exception}")
    return out


def _profile_config():
    from cosmos import ProfileConfig

    return ProfileConfig(
        profile_name=PROFILE_NAME, target_name="duckdb", profiles_yml_filepath=DBT_DIR / "profiles.yml"
    )


def threads_by_try() -> str:
    """The dbt task's ``ROI_DBT_THREADS``, a template: the deployment's models at a time on the
    first try, one on a retry. Two threads can collide in DuckDB's catalog (a write-write
    conflict, see ``transform.run_dbt``, which runs such a build again on one thread at once);
    the task fails, and its retry builds on one thread rather than collide again."""
    from roi_pipeline.settings import DBT_THREADS

    return "{{ '1' if ti.try_number > 1 else '" + DBT_THREADS[1] + "' }}"


def _operator_args(report_month: str, warehouse: str, *, flags: list[str]) -> dict[str, Any]:
    from roi_pipeline.settings import DBT_THREADS
    from roi_pipeline.transform import PRODUCTION_VARS, dbt_env

    return {
        "dbt_cmd_flags": list(flags),
        "pool": WAREHOUSE_POOL,
        # the month goes in the environment (as roi build passes it), not in --vars: a changed
        # --vars value makes dbt re-parse the whole project on every run
        "vars": dict(PRODUCTION_VARS),
        "env": {"ROI_WAREHOUSE": warehouse, **dbt_env(report_month=report_month), DBT_THREADS[0]: threads_by_try()},
        "append_env": True,
    }


def dbt_stage(task_id: str, *, report_month: str, warehouse: str):
    """The month's dbt build: one Cosmos task.

    ``report_month`` and ``warehouse`` are Jinja templates rendered at run time (an XCom of
    the planning task), so nothing about the run is fixed when the file is parsed.
    """
    from cosmos.constants import InvocationMode
    from cosmos.operators.local import DbtBuildLocalOperator

    from roi_pipeline.transform import PRODUCTION_BUILD_FLAGS

    return DbtBuildLocalOperator(
        task_id=task_id,
        project_dir=str(DBT_DIR),
        profile_config=_profile_config(),
        invocation_mode=InvocationMode.SUBPROCESS,
        dbt_executable_path=str(dbt_executable()),
        install_deps=False,  # the project has no packages
        **_operator_args(report_month, warehouse, flags=PRODUCTION_BUILD_FLAGS),
    )


if __name__ == "__main__":
    print(f"dbt manifest written to {build_manifest()}")
