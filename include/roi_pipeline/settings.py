"""Locations of the pipeline's inputs and outputs, read from the environment.

Every location has a default under ``<project>/data`` so the sample pipeline runs with no
setup, and an ``ROI_*`` variable so the same code runs on another data set unchanged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: The repository root (``include/roi_pipeline/settings.py`` -> two levels up from the package).
PROJECT_DIR = Path(os.environ.get("ROI_PROJECT_DIR") or Path(__file__).resolve().parents[2])

ENV_VARS = {
    "landing_dir": ("ROI_LANDING_DIR", "data/landing"),
    "clients_dir": ("ROI_CLIENTS_DIR", "data/clients"),
    "warehouse": ("ROI_WAREHOUSE", "data/warehouse.duckdb"),
    "reports_dir": ("ROI_REPORTS_DIR", "data/reports"),
    # Default: beside the warehouse, whichever warehouse that is (see Locations.from_env).
    "marts_snapshot": ("ROI_MARTS_SNAPSHOT", None),
}
#: The months of a dbt build, passed to dbt in the environment (not as ``--vars``: a changed
#: ``--vars`` value makes dbt re-parse the whole project; dbt_project/macros/cross_db.sql
#: ``month_setting`` reads these names). ``transform.run_dbt`` and the DAG's dbt task set them.
DBT_ENV_VARS = {
    "report_month": "ROI_REPORT_MONTH",
    "through_month": "ROI_THROUGH_MONTH",
}
#: DuckDB's memory bound (it takes 80 % of RAM by default and spills to ``<warehouse>.tmp``
#: beyond the bound): set once per deployment. Ingestion connects with it, and ``roi build``
#: hands it to dbt (``dbt_project/profiles.yml`` reads the same variable; its own default is
#: only for dbt run by hand and must stay equal to this one).
DUCKDB_MEMORY_LIMIT = ("ROI_DUCKDB_MEMORY_LIMIT", "1GB")
#: How many models dbt builds at a time on DuckDB (``dbt_project/profiles.yml`` reads the
#: variable; its default there must stay equal to this one). They share DuckDB's threads and
#: memory limit. A write-write conflict between them is built again on one thread: by
#: ``transform.run_dbt`` at once, by the Airflow DAG's dbt task on its retry
#: (``orchestration.dbt``).
DBT_THREADS = ("ROI_DBT_THREADS", "2")
#: Which dbt target builds the marts (``dbt_project/profiles.yml`` reads the same variable):
#: ``duckdb`` (default) or ``postgres``. Ingestion, the quality gates, the reports and the
#: marts snapshot read the DuckDB warehouse only, so on PostgreSQL only ``roi build`` runs.
DBT_TARGET = ("ROI_DBT_TARGET", "duckdb")
#: File name of the readers' copy of the marts when ROI_MARTS_SNAPSHOT is unset.
MARTS_SNAPSHOT_NAME = "marts_snapshot.duckdb"
#: Folder beside the warehouse for the quality gates' GX validation results and Data Docs.
GX_OUTPUT_NAME = "gx"


def duckdb_memory_limit(environ: dict[str, str] | None = None) -> str:
    """DuckDB's ``memory_limit`` for this deployment (:data:`DUCKDB_MEMORY_LIMIT`)."""
    var, default = DUCKDB_MEMORY_LIMIT
    return (os.environ if environ is None else environ).get(var) or default


def whole_number_setting(name: str, environ: dict[str, str] | None, default: int, what: str) -> int:
    """A setting that is a whole number of ``what``, at least 1; unset or blank: ``default``."""
    value = (os.environ if environ is None else environ).get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number of {what}, not {value!r}") from None
    if number < 1:
        raise ValueError(f"{name} must be at least 1, not {number}")
    return number


def dbt_threads(environ: dict[str, str] | None = None) -> str:
    """dbt's models at a time for this deployment (:data:`DBT_THREADS`), as dbt reads it."""
    var, default = DBT_THREADS
    return str(whole_number_setting(var, environ, int(default), "models built at a time"))


def dbt_target(environ: dict[str, str] | None = None) -> str:
    """``duckdb`` or ``postgres`` (:data:`DBT_TARGET`); another value is named here, not by dbt."""
    name, default = DBT_TARGET
    value = ((os.environ if environ is None else environ).get(name) or default).strip()
    if value not in ("duckdb", "postgres"):
        raise ValueError(f"{name}={value!r}: expected duckdb or postgres")
    return value


def gx_output_dir(warehouse: Path) -> Path:
    """Where the gates run on ``warehouse`` keep GX's validation results and Data Docs: a
    ``gx/`` folder beside the warehouse, so they follow ``ROI_WAREHOUSE`` (never the checkout)."""
    return Path(warehouse).resolve().parent / GX_OUTPUT_NAME


@dataclass(frozen=True)
class Locations:
    """Resolved, absolute paths of the pipeline's inputs and outputs."""

    landing_dir: Path
    clients_dir: Path
    warehouse: Path
    reports_dir: Path
    #: The read-only copy of the marts published after each build (``roi_pipeline.snapshot``);
    #: ``None``: ``marts_snapshot.duckdb`` beside the warehouse.
    marts_snapshot: Path | None = None

    def __post_init__(self) -> None:
        if self.marts_snapshot is None:
            object.__setattr__(self, "marts_snapshot", Path(self.warehouse).parent / MARTS_SNAPSHOT_NAME)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Locations:
        """Read ``ROI_LANDING_DIR``, ``ROI_CLIENTS_DIR``, ``ROI_WAREHOUSE``, ``ROI_REPORTS_DIR``
        and ``ROI_MARTS_SNAPSHOT``.

        Unset variables fall back to the defaults under ``<project>/data`` (the marts snapshot:
        beside the warehouse); relative values are taken relative to the current directory,
        as a user typing them expects.
        """
        env = os.environ if environ is None else environ
        resolved = {}
        for field, (var, default) in ENV_VARS.items():
            value = env.get(var)
            if not value and default is None:
                continue  # derived in __post_init__
            path = Path(value).expanduser() if value else PROJECT_DIR / default
            resolved[field] = path.resolve()
        return cls(**resolved)

    @property
    def gx_output_dir(self) -> Path:
        """GX validation results and Data Docs of the quality gates (:func:`gx_output_dir`)."""
        return gx_output_dir(self.warehouse)

    @property
    def data_docs(self) -> Path:
        """The Data Docs page the gates build (why a report was held)."""
        return self.gx_output_dir / "data_docs" / "index.html"

    def describe(self) -> str:
        """A few lines telling a person where everything is (printed by the CLI)."""
        lines = []
        for field, (var, _default) in ENV_VARS.items():
            lines.append(f"  {var:<18} {getattr(self, field)}")
        return "\n".join(lines)
