"""`scimrecon resume --all`: carry on with every parked run, for cron and systemd timers.

A parked run is waiting for something outside the tool (a notice period, an IdP's cycle, a
first login). Only the run's own wait steps can tell whether that has happened, so every
parked run is resumed and its waits are checked once (`--max-wait 0`): a run whose wait is
not over parks again at once, without sleeping, so a timer every hour costs one read per
waiting target. Each run is resumed on its own: one that cannot be (locked by a process still
driving it, a playbook that no longer loads) is reported and the others go on.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from scimrecon.engine.runner import EXIT_INTERRUPTED, RunResult
from scimrecon.engine.state import RunRecord, StateStore
from scimrecon.errors import EXIT_OK, EXIT_PARKED, ScimreconError


def resume_parked(
    store: StateStore,
    resume_one: Callable[[RunRecord], RunResult],
    report: Callable[[RunResult], None],
) -> int:
    """Resume each parked run in id order; the exit code is the worst outcome, where parking
    again counts as success (a timer's normal case, not something to mail anyone about)."""
    parked = [r for r in store.list_runs() if r.state == "parked"]
    if not parked:
        click.echo(f"no parked runs in {store.path}")
        return EXIT_OK
    worst = EXIT_OK
    for record in parked:
        click.echo(f"resuming run {record.id} ({record.playbook})", err=True)
        try:
            result = resume_one(record)
        except ScimreconError as exc:
            click.echo(f"run {record.id} not resumed: {exc.message}", err=True)
            worst = max(worst, exc.exit_code)
            continue
        report(result)
        worst = max(worst, EXIT_OK if result.exit_code == EXIT_PARKED else result.exit_code)
        if _stopped_by_signal(result):  # Ctrl-C or SIGTERM: the person wants it all to stop
            break
    return worst


def _stopped_by_signal(result: RunResult) -> bool:
    """A run interrupted by Ctrl-C or SIGTERM, not one that stopped on its own (a manual step
    with nobody to answer it): only the former stops the runs after it."""
    if result.state != "interrupted":
        return False
    reason = result.reason or ""
    return result.exit_code == EXIT_INTERRUPTED or reason.startswith("terminated (SIGTERM)")


__all__ = ["resume_parked"]
