"""Progress events the engine emits, for whoever wants to show them (decision 77).

The engine knows how much work a step, a plan or a wait has and when a piece of it is done;
how to show that (a bar on a terminal, nothing in a pipe) is the command line's business. So
the engine only calls a `ProgressListener`, and never imports Click or a terminal library:
`cli/progress.py` renders the events, `NO_PROGRESS` drops them.

Listeners are called from worker threads (one `advance` per finished target) and must be
thread-safe; they must never raise into the run (a broken display is no reason to stop).
"""

from __future__ import annotations

from typing import Protocol


class ProgressListener(Protocol):
    def begin(self, key: str, label: str, total: int | None) -> None:
        """Work named `label` starts: `total` pieces (None: not known in advance)."""

    def advance(self, key: str, count: int = 1) -> None:
        """`count` more pieces of the work `key` are done."""

    def waiting(self, key: str, label: str, until: float) -> None:
        """The work `key` waits for `label` (what is awaited), at most until `until` (epoch
        seconds); called again at each poll while it still waits."""

    def end(self, key: str) -> None:
        """The work `key` is over (done, parked, failed or stopped)."""


class _NoProgress:
    def begin(self, key: str, label: str, total: int | None) -> None:
        pass

    def advance(self, key: str, count: int = 1) -> None:
        pass

    def waiting(self, key: str, label: str, until: float) -> None:
        pass

    def end(self, key: str) -> None:
        pass


#: The listener of a run nobody watches: a pipe, --quiet, --format json|csv, the tests.
NO_PROGRESS: ProgressListener = _NoProgress()
