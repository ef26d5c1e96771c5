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
}


@dataclass(frozen=True)
class Locations:
    """Resolved, absolute paths of the pipeline's inputs and outputs."""

    landing_dir: Path
    clients_dir: Path
    warehouse: Path
    reports_dir: Path

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Locations:
        """Read ``ROI_LANDING_DIR``, ``ROI_CLIENTS_DIR``, ``ROI_WAREHOUSE`` and ``ROI_REPORTS_DIR``.

        Unset variables fall back to the defaults under ``<project>/data``; relative
        values are taken relative to the current directory, as a user typing them expects.
        """
        env = os.environ if environ is None else environ
        resolved = {}
        for field, (var, default) in ENV_VARS.items():
            value = env.get(var)
            path = Path(value).expanduser() if value else PROJECT_DIR / default
            resolved[field] = path.resolve()
        return cls(**resolved)

    def describe(self) -> str:
        """A few lines telling a person where everything is (printed by the CLI)."""
        lines = []
        for field, (var, _default) in ENV_VARS.items():
            lines.append(f"  {var:<16} {getattr(self, field)}")
        return "\n".join(lines)
