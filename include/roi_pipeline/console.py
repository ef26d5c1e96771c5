"""What the ``roi`` command prints: plain lines, progress a person can follow, a summary.

- Messages go to stdout, one line each, never re-wrapped (a long path stays on one line, so
  it can be copied or grepped).
- Long work is a *step*. On a terminal it is a live line (spinner, what, how far ``n/N``,
  elapsed time) that disappears when the step ends; anywhere else (a pipe, a log file, CI)
  it is one line when the step starts (``<what> ...``) and one when it ends
  (``<what>: done in 3.2s (detail)`` or ``<what>: FAILED after 3.2s (detail)``). Either way
  the ending line stays, and :meth:`Output.summary` lists every step again at the end.
- Colour and cursor movement only when stdout is a terminal: `rich` decides, and honours
  ``NO_COLOR`` (no colour), ``TERM=dumb`` (no live line) and ``FORCE_COLOR``. Output that
  is not a terminal never holds an escape character.

Elapsed times are shown to the person running the command; nothing written to disk
(reports, warehouse) depends on them.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


@dataclass
class StepRecord:
    """One finished step, for the summary."""

    what: str
    ok: bool
    seconds: float
    detail: str = ""


def _seconds(value: float) -> str:
    if value < 60:
        return f"{value:.1f}s"
    minutes, seconds = divmod(int(round(value)), 60)
    return f"{minutes}m{seconds:02d}s"


@dataclass
class Step:
    """A step under way: ``advance`` / ``update`` say how far it is, ``done`` / ``failed`` end it."""

    output: Output
    what: str
    total: int | None = None
    completed: int = 0
    detail: str = ""
    ok: bool = True
    result: str = ""
    started: float = field(default_factory=time.monotonic)
    _task: int | None = None

    def update(self, *, completed: int | None = None, total: int | None = None, detail: str | None = None) -> None:
        if completed is not None:
            self.completed = completed
        if total is not None:
            self.total = total
        if detail is not None:
            self.detail = detail
        self.output._refresh(self)

    def advance(self, by: int = 1, detail: str | None = None) -> None:
        self.update(completed=self.completed + by, detail=detail)

    def done(self, result: str = "") -> None:
        self.ok, self.result = True, result

    def failed(self, result: str = "") -> None:
        self.ok, self.result = False, result


class Output:
    """The command's console: ``say`` a line, run a ``step``, print the ``summary``."""

    def __init__(self, *, verbose: bool = False) -> None:
        self.verbose = verbose
        # file=None: rich writes to whatever sys.stdout is at the time (pytest's capture too).
        self.console = Console(highlight=False, markup=False, emoji=False, soft_wrap=True)
        self.steps: list[StepRecord] = []
        self._progress: Progress | None = None

    @property
    def live(self) -> bool:
        """Live progress lines: only on a real (not dumb) terminal."""
        return self.console.is_terminal and not self.console.is_dumb_terminal

    @property
    def color(self) -> bool:
        """Whether colour codes may be written (a terminal, NO_COLOR unset)."""
        return self.live and not self.console.no_color

    def say(self, line: str = "", style: str | None = None) -> None:
        if self.live:
            self.console.print(line, style=style if self.color else None)
        else:
            print(line, flush=True)

    def error(self, line: str) -> None:
        """A one-line error for the person (stderr)."""
        print(line, file=sys.stderr, flush=True)

    @contextmanager
    def step(self, what: str, total: int | None = None) -> Iterator[Step]:
        step = Step(self, what, total)
        if self.live:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(bar_width=24),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[detail]}"),
                console=self.console,
                transient=True,
            )
            step._task = self._progress.add_task(what, total=total, detail="")
            self._progress.start()
        else:
            self.say(f"{what} ...")
        try:
            yield step
        except BaseException:
            step.ok = False
            step.result = step.result or "interrupted by an error"
            raise
        finally:
            if self._progress is not None:
                self._progress.stop()
                self._progress = None
            seconds = time.monotonic() - step.started
            self.steps.append(StepRecord(what, step.ok, seconds, step.result))
            verdict = f"done in {_seconds(seconds)}" if step.ok else f"FAILED after {_seconds(seconds)}"
            self.say(f"{what}: {verdict}" + (f" ({step.result})" if step.result else ""),
                     style="green" if step.ok else "bold red")  # fmt: skip

    def _refresh(self, step: Step) -> None:
        if self._progress is not None and step._task is not None:
            self._progress.update(step._task, completed=step.completed, total=step.total, detail=step.detail)

    def summary(self, title: str) -> None:
        """The steps run, their outcome and duration, one line each, and the total time."""
        if not self.steps:
            return
        width = max(len(s.what) for s in self.steps)
        self.say(title)
        for s in self.steps:
            verdict = "ok    " if s.ok else "FAILED"
            self.say(f"  {s.what:<{width}}  {verdict} {_seconds(s.seconds):>7}  {s.detail}".rstrip(),
                     style=None if s.ok else "bold red")  # fmt: skip
        self.say(f"  {'total':<{width}}         {_seconds(sum(s.seconds for s in self.steps)):>7}")
