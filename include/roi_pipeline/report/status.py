"""What the caller tells the renderer about data quality, and who the consultancy is.

The quality gates (``roi_pipeline.quality``) are not imported here: the caller runs them
and passes a :class:`QualityStatus` in. ``QualityStatus.from_gate`` adapts any object with
``publishable`` / ``reasons`` / ``notes`` attributes (the gate's status) without importing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

CONSULTANCY_FILE = "_consultancy.yaml"


@dataclass(frozen=True)
class QualityStatus:
    """Outcome of the quality checks for one client-month.

    - ``checked=False`` (the default): no checks ran; the report says "quality checks not run".
    - ``publishable=False``: the report is held back (no client report is written) and the
      portfolio lists ``blocking`` as the reasons.
    - ``warnings``: notes the published report carries in its data-quality section.
    """

    publishable: bool = True
    checked: bool = False
    blocking: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def not_run(cls) -> QualityStatus:
        return cls()

    @classmethod
    def from_gate(cls, gate: Any) -> QualityStatus:
        """From a gate status object (``publishable``, ``reasons``, ``notes``), duck-typed."""
        return cls(
            publishable=bool(gate.publishable),
            checked=True,
            blocking=[str(r) for r in getattr(gate, "reasons", [])],
            warnings=[str(n) for n in getattr(gate, "notes", [])],
        )

    def held_at_render(self, reasons: list[str] | None) -> QualityStatus:
        """This status, or, when the renderer held the report back though the gates passed
        (an earlier published month changed: render.changed_since_published), not
        publishable for its ``reasons``: the portfolio then lists why, not "not rendered"."""
        if not reasons or not self.publishable:
            return self
        return replace(self, publishable=False, blocking=[*self.blocking, *reasons])

    @property
    def label(self) -> str:
        if not self.checked:
            return "not run"
        if not self.publishable:
            return "failed"
        return "passed with warnings" if self.warnings else "passed"

    def as_json(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "publishable": self.publishable,
            "status": self.label,
            "blocking": list(self.blocking),
            "warnings": list(self.warnings),
        }


class ConsultancyConfigError(ValueError):
    """``_consultancy.yaml`` exists but cannot be used (the message names the file and field)."""


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Consultancy:
    """The consultancy's name and contact, shown on every report and the portfolio page."""

    name: str = "Your AI operations team"
    email: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "email": self.email}


def load_consultancy(clients_dir: Path | None) -> Consultancy:
    """Read ``<clients_dir>/_consultancy.yaml`` (``name``, ``email``); the default when absent.

    Files whose name starts with ``_`` are never client files, so this one sits beside them.
    A file that exists but is malformed raises :class:`ConsultancyConfigError` rather than
    silently printing the default name on a client's report.
    """
    if clients_dir is None:
        return Consultancy()
    path = Path(clients_dir) / CONSULTANCY_FILE
    if not path.is_file():
        return Consultancy()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConsultancyConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConsultancyConfigError(f"{path}: expected a mapping with 'name' and 'email'")
    unknown = sorted(set(data) - {"name", "email"})
    if unknown:
        raise ConsultancyConfigError(f"{path}: unknown field(s) {', '.join(unknown)}")
    name = data.get("name", Consultancy.name)
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ConsultancyConfigError(f"{path}: field name: a non-empty text of at most 200 characters")
    email = data.get("email")
    if email is not None and (not isinstance(email, str) or not _EMAIL.match(email)):
        raise ConsultancyConfigError(f"{path}: field email: not an e-mail address: {email!r}")
    return Consultancy(name=name.strip(), email=email)
