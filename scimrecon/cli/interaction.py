"""The terminal side of `engine.action.Interaction`: questions, manual steps, progress lines.

Two rules keep a person in charge: `--yes` answers yes/no questions but never a manual step
(we cannot verify what someone did in another console, so they must type the confirmation), and
without a terminal nothing is assumed — a question nobody can answer refuses the run instead.
Progress goes to stderr so that `--format json` on stdout stays machine-readable, and a closed
stderr (`2>&1 | head -1`) silences the progress lines instead of stopping a run half-way.
Ctrl-C at a question is an interrupt (exit 130), not a "no": the person wants out now.
"""

from __future__ import annotations

import sys
from contextlib import suppress

import click

from scimrecon.cli.progress import paused
from scimrecon.cli.terminal import fit_text
from scimrecon.errors import RefusedError


def stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


class ClickInteraction:
    """Interaction over click prompts; `interactive` defaults to whether stdin is a terminal."""

    def __init__(self, *, assume_yes: bool = False, interactive: bool | None = None) -> None:
        self.assume_yes = assume_yes
        self.interactive = stdin_is_tty() if interactive is None else interactive

    def confirm(self, message: str) -> bool:
        if self.assume_yes:
            click.echo(fit_text(f"{message} -> yes (--yes)", sys.stderr), err=True)
            return True
        if not self.interactive:
            raise RefusedError(
                f"{message}: needs a yes, and there is no terminal to ask on; pass --yes"
            )
        try:
            with paused():
                return click.confirm(fit_text(message, sys.stderr), default=False, err=True)
        except click.Abort as exc:
            _reraise_ctrl_c(exc)
            raise RefusedError(f"{message}: not confirmed (end of input)") from None

    def manual(self, instructions: str, expect: str) -> None:
        if not self.interactive:
            raise RefusedError(
                "a manual step needs a person at a terminal (--yes never answers manual steps); "
                "run or resume it interactively"
            )
        with paused():
            self._manual(instructions, expect)

    def _manual(self, instructions: str, expect: str) -> None:
        click.echo("", err=True)
        click.secho("MANUAL STEP", bold=True, err=True)
        for line in instructions.strip().splitlines():
            click.echo(f"  {line}", err=True)
        while True:
            try:
                answer = click.prompt(
                    f"Type {expect!r} when this is done (Ctrl-C stops; the run can be resumed)",
                    default="",
                    show_default=False,
                    err=True,
                )
            except click.Abort as exc:
                _reraise_ctrl_c(exc)
                raise RefusedError("a manual step was not confirmed (end of input)") from None
            if answer.strip() == expect:
                return
            click.echo(f"expected {expect!r}, got {answer.strip()!r}", err=True)

    def info(self, message: str) -> None:
        # Nobody reads the progress any more: the run must not stop half-way for that.
        with suppress(BrokenPipeError):
            click.echo(fit_text(message, sys.stderr), err=True)


def _reraise_ctrl_c(exc: click.Abort) -> None:
    """Click turns both Ctrl-C and end of input into Abort; only the first is an interrupt."""
    if isinstance(exc.__context__, KeyboardInterrupt):
        with suppress(BrokenPipeError):
            click.echo(err=True)  # end the question's line: what comes next starts its own
        raise KeyboardInterrupt from None
