"""One client's landing folder: the files the writers create in it, row counts, ``_extracts.json``."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from roi_pipeline.sample.common import add_months


class ClientLanding:
    """``<landing_dir>/<client_id>/``: hands out file paths and records what was written."""

    def __init__(self, root: Path):
        self.root = root
        self.files: dict[str, list[str]] = {}  # file names per landing folder
        self.rows: dict[str, int] = {}  # rows per landing folder

    def path(self, folder: str, name: str) -> Path:
        """The path of a new file ``<folder>/<name>`` (the folder is created)."""
        d = self.root / folder
        d.mkdir(parents=True, exist_ok=True)
        self.files.setdefault(folder, []).append(name)
        return d / name

    def count(self, folder: str, n: int) -> None:
        self.rows[folder] = self.rows.get(folder, 0) + n

    def write_extracts(self, settle: int) -> int:
        """Write ``_extracts.json`` per folder; returns how many were written.

        A month's ``extracted_at`` is 12:00 UTC on day ``settle + 1`` of the following month.
        """
        for folder, names in sorted(self.files.items()):
            out = {}
            for name in sorted(names):
                y, m = int(name[:4]), int(name[5:7])
                nxt = add_months(date(y, m, 1), 1)
                out[name] = {"extracted_at": f"{nxt.isoformat()[:8]}{settle + 1:02d}T12:00:00Z"}
            (self.root / folder / "_extracts.json").write_text(
                json.dumps(out, indent=2, sort_keys=True) + "\n", encoding="utf-8"
            )
        return len(self.files)
