"""A rich progress bar with pairs/s and ETA on a terminal; silent otherwise (a log file gets no bar codes)."""

from __future__ import annotations

import sys
from typing import Any


class Progress:
    """Use as a context manager; call ``advance(units, pairs)`` as work gets done.

    Args:
        enabled: False (or stderr not a terminal, or nothing to do) turns the bar into a no-op.
        total: the amount of work in `unit`: pairs when the count is known, else e.g. bytes of the input file.
        unit: what `total` counts; pairs/s is shown from the pairs passed to `advance` either way, and the ETA
            follows the units.
        done: units already done before the bar starts (a resumed run).
    """

    def __init__(self, enabled: bool, total: int, unit: str = "pairs", done: int = 0):
        self.enabled = enabled and sys.stderr.isatty() and total > 0
        self.total, self.unit, self.done = total, unit, done
        self._bar: Any = None

    def __enter__(self) -> Progress:
        if not self.enabled:
            return self
        from rich.progress import BarColumn, MofNCompleteColumn, TaskProgressColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as Bar

        amount = ([MofNCompleteColumn()] if self.unit == "pairs"
                  else [TaskProgressColumn(), TextColumn("{task.fields[pairs]:,} pairs")])
        self._bar = Bar(TextColumn("judging"), BarColumn(), *amount, _rate_column(), TimeRemainingColumn(),
                        transient=True)
        self._bar.start()
        self._task = self._bar.add_task("judging", total=self.total, completed=self.done, pairs=0)
        return self

    def advance(self, units: int, pairs: int | None = None) -> None:
        """Add `units` of work done, of which `pairs` pairs judged or read (default: `units`)."""
        if self._bar is not None:
            task = self._bar.tasks[0]
            done = task.fields["pairs"] + (units if pairs is None else pairs)
            self._bar.update(self._task, advance=units, pairs=done)

    def to(self, position: int, pairs: int) -> None:
        """Set the work done to `position` units, `pairs` more pairs done."""
        if self._bar is not None:
            task = self._bar.tasks[0]
            self.advance(max(0, position - int(task.completed)), pairs)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def _rate_column() -> Any:
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            elapsed = task.elapsed or 0
            rate = task.fields.get("pairs", 0) / elapsed if elapsed > 0.5 else None
            return Text(f"{rate:,.0f} pairs/s" if rate else "? pairs/s")

    return RateColumn()
