"""What a run is asked to do and what it reports: the runner's public types and constants."""

from __future__ import annotations

from dataclasses import dataclass, field

from scimrecon.engine.incomplete import Incomplete

EXIT_INTERRUPTED = 130
#: Run states that `resume` refuses: the run is over.
FINISHED = ("completed", "failed", "aborted")
RUN_SCOPE = ""  # the target key of run-scoped step states


class Terminated(KeyboardInterrupt):
    """Raised in the main thread by the CLI's SIGTERM handler: stop like Ctrl-C, exit 4."""


@dataclass
class RunOptions:
    concurrency: int = 4
    max_fail_percent: float | None = None
    #: Caps how long this process polls a wait step before parking (None: the step's own).
    max_wait_s: float | None = None


@dataclass
class RunResult:
    run_id: str
    state: str
    reason: str | None
    exit_code: int
    targets: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    left_changed: list[str] = field(default_factory=list)
    #: Targets whose changes are in place but unfinished (not listed for a completed run).
    incomplete: list[Incomplete] = field(default_factory=list)
    #: A finally step never succeeded: `abort` can still run it.
    finally_pending: bool = False
    #: What happened but could not be written to the state file (storage failure).
    unrecorded: list[str] = field(default_factory=list)
