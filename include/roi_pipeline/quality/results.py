"""What a gate run returns and records: plain dataclasses (no GX, no pandas)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Finding:
    """One failed expectation of one client-month: what is wrong, how much, and what it means."""

    client_id: str
    month: str
    gate: str
    suite: str
    expectation: str
    defect: str
    severity: str  # blocking / warning / info
    #: Compact JSON of what GX observed (unexpected count and rows, missing values, ...).
    observed: str
    #: Names the client, the month and the defect; deterministic (no wall clock, stable order).
    message: str


@dataclass(frozen=True)
class GateResult:
    """The outcome of one gate (raw or mart) for one client-month."""

    client_id: str
    month: str
    gate: str
    blocking_failures: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    #: Expectations evaluated (passed + failed); 0 when the gate could not run.
    evaluated: int = 0
    run_id: str = ""
    #: For the consultancy only (severity ``info``): in the quality results, never a hold or a note.
    infos: list[Finding] = field(default_factory=list)

    @property
    def publishable(self) -> bool:
        return not self.blocking_failures

    @property
    def reasons(self) -> list[str]:
        return [f.message for f in self.blocking_failures]

    @property
    def notes(self) -> list[str]:
        return [f.message for f in self.warnings]


@dataclass(frozen=True)
class GateStatus:
    """Whether a client's report for a month may be published, and why not / with which notes."""

    client_id: str
    month: str
    publishable: bool
    #: Why the report is held back (blocking failures, or a gate that has not run).
    reasons: list[str]
    #: Data-quality notes the published report carries (warnings).
    notes: list[str]
    raw_publishable: bool | None
    mart_publishable: bool | None
