"""Run the dbt project (``dbt_project/``) against the configured warehouse.

dbt is invoked in-process through its programmatic entry point, with ``ROI_WAREHOUSE`` set
to the absolute warehouse path so ``profiles.yml`` needs no editing. The DuckDB file has a
single writer: dbt runs holding the warehouse's lock (:mod:`roi_pipeline.warehouse_lock`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roi_pipeline.settings import (
    DBT_ENV_VARS,
    DBT_THREADS,
    DUCKDB_MEMORY_LIMIT,
    PROJECT_DIR,
    dbt_threads,
    duckdb_memory_limit,
)

logger = logging.getLogger(__name__)

DBT_DIR = PROJECT_DIR / "dbt_project"


class DbtFailed(RuntimeError):
    """dbt reported errors or failing tests; the message lists them."""


@dataclass(frozen=True)
class DbtResult:
    success: bool
    failures: list[str]


#: Variables of every production build (``roi build``, ``roi run``, the DAG's dbt task): a data
#: test whose failing rows name their client warns and stores them (schema ``test_failures``)
#: instead of failing the build for every client; the mart gate holds those clients
#: (dbt_project/macros/client_scoped_test.sql).
PRODUCTION_VARS: dict[str, object] = {"hold_clients_on_failed_tests": True}
#: What a production build runs: every model, and the data tests whose failure holds a client
#: (tag ``client_scoped``, selected directly: ``--indirect-selection empty`` keeps the other
#: tests of the selected models out). Unit tests and the other data tests check the SQL and the
#: project on fixed data: CI runs them (a plain ``dbt build``, as ``make test`` does).
PRODUCTION_BUILD_FLAGS: list[str] = [
    "--select",
    "resource_type:model tag:client_scoped",
    "--indirect-selection",
    "empty",
]
#: Where dbt stores the failing rows of client-scoped tests (one table per test).
TEST_FAILURES_SCHEMA = "test_failures"


def dbt_env(report_month: str | None = None, through_month: str | None = None) -> dict[str, str]:
    """The environment naming a build's months (``settings.DBT_ENV_VARS``); ``""``: unset.

    Every month variable is named, set or empty, so a value exported in the caller's
    environment never leaks into a build that did not ask for it.
    """
    months = {"report_month": report_month, "through_month": through_month}
    return {DBT_ENV_VARS[name]: value or "" for name, value in months.items()}


def dbt_work_dir(warehouse: Path) -> Path:
    """Where dbt's artefacts and logs for ``warehouse`` go: ``<warehouse dir>/dbt/`` (the build's
    in ``target/``, the docs site's in ``docs/``), so runs against different warehouses never
    overwrite each other's manifest."""
    return Path(warehouse).resolve().parent / "dbt"


def run_dbt(
    command: Sequence[str],
    warehouse: Path,
    *,
    report_month: str | None = None,
    through_month: str | None = None,
    variables: dict[str, object] | None = None,
    target: str | None = None,
    quiet: bool = False,
    on_event: Callable[[Any], None] | None = None,
    use_colors: bool | None = None,
    target_dir: Path | None = None,
) -> DbtResult:
    """Invoke ``dbt <command>`` on the project; returns success and the failing nodes.

    ``report_month`` / ``through_month`` ('YYYY-MM') reach dbt in the environment
    (:func:`dbt_env`), not as ``--vars``, so a new month does not make dbt re-parse the
    project (its partial parse, ``partial_parse.msgpack``, stays valid).

    dbt's artefacts and logs go beside the warehouse (``<warehouse dir>/dbt/``), so runs
    against different warehouses never overwrite each other's manifest.

    ``on_event`` receives every dbt event (``EventMsg``: ``msg.info.name``, ``msg.data``),
    whatever ``quiet`` hides from stdout: the ``roi`` command draws its progress from it.
    ``use_colors=False`` keeps ANSI colour codes out of dbt's lines (output not a terminal).
    ``target_dir`` replaces ``<warehouse dir>/dbt/target`` (``roi_pipeline.docs_site`` keeps
    its artefacts apart from the build's).
    """
    from dbt.cli.main import dbtRunner

    misplaced = sorted(set(variables or {}) & set(DBT_ENV_VARS))
    if misplaced:
        raise ValueError(
            f"pass {', '.join(misplaced)} as run_dbt keyword arguments (dbt reads them from the environment)"
        )
    warehouse = Path(warehouse).resolve()
    work_dir = dbt_work_dir(warehouse)
    env = {"ROI_WAREHOUSE": str(warehouse), **dbt_env(report_month, through_month)}
    env[DUCKDB_MEMORY_LIMIT[0]] = duckdb_memory_limit()
    env[DBT_THREADS[0]] = dbt_threads()  # profiles.yml reads it; a bad value is named here, not by dbt
    if target:
        env["ROI_DBT_TARGET"] = target
    args = [
        *command,
        "--project-dir",
        str(DBT_DIR),
        "--profiles-dir",
        str(DBT_DIR),
        "--target-path",
        str(target_dir or work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
    ]
    if variables:
        args += ["--vars", json.dumps(variables, sort_keys=True)]
    if quiet:
        args = ["--quiet", *args]
    if use_colors is not None:
        args = ["--use-colors" if use_colors else "--no-use-colors", *args]
    from roi_pipeline.warehouse_lock import hold_warehouse

    saved = {key: os.environ.get(key) for key in env}
    with hold_warehouse(warehouse):  # one writer at a time, whoever calls
        os.environ.update(env)
        try:
            result = _invoke(dbtRunner, args, on_event)
            if _conflicted(result):
                # Two of dbt's threads collided in DuckDB's catalog (see _conflicted): the same
                # command again on one thread, which rebuilds what the first attempt left.
                logger.warning("dbt: a DuckDB write-write conflict between two threads; running it again on one thread")
                result = _invoke(dbtRunner, [*args, "--threads", "1"], on_event)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    return _result(result)


def _invoke(runner: Callable[..., Any], args: list[str], on_event: Callable[[Any], None] | None) -> Any:
    try:
        return runner(callbacks=[on_event] if on_event else None).invoke(args)
    finally:
        _release_duckdb()  # a second attempt opens the database afresh


def _is_conflict(message: str) -> bool:
    """Whether ``message`` is DuckDB's for two transactions of one process changing the same entry
    ("TransactionContext Error: Catalog write-write conflict on create with ...", "... Failed to
    commit: write-write conflict on key ...").

    dbt builds models on two threads (profiles.yml): independent models then write side by side,
    which DuckDB allows, but DDL on a shared entry can still conflict (reported against
    dbt-duckdb with incremental models). Such a conflict is not the data's fault: run_dbt runs
    the command again on one thread rather than hold every client's month for it. Other
    transaction errors (a commit that fails on a full disk) are not run again.
    """
    return "TransactionContext Error" in message and "conflict" in message.lower()


def _conflicted(result: Any) -> bool:
    """Whether a dbt run failed on a DuckDB write-write conflict (any node, or dbt itself)."""
    if result.success:
        return False
    if result.exception is not None:
        return _is_conflict(str(result.exception))
    nodes = getattr(result.result, "results", None) or []
    return any(
        str(getattr(node, "status", "")) in {"error", "runtime error"} and _is_conflict(str(node.message or ""))
        for node in nodes
    )


def _result(result: Any) -> DbtResult:
    """The run's success and its failing nodes (or dbt's own crash), as run_dbt returns them."""
    failures: list[str] = []
    if result.exception is not None:
        failures.append(f"dbt crashed: {result.exception}")
    elif result.result is not None and hasattr(result.result, "results"):
        for node_result in result.result.results:
            status = str(getattr(node_result, "status", ""))
            if status in {"error", "fail", "runtime error"}:
                failures.append(f"{node_result.node.unique_id}: {status}: {node_result.message}")
    return DbtResult(success=bool(result.success) and not failures, failures=failures)


def _release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in-process after a run.

    Otherwise the file stays locked by this process (a later read-only connection in the
    same process fails, and no other process can write) until the interpreter exits.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter: nothing held
        return
    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()
    DuckDBConnectionManager.close_all_connections()
