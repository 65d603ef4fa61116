"""The root `scimrecon` command: global options, lazy subcommands, and the one error boundary.

Subcommands live one group per module (DESIGN.md) and are imported only when used, so
`scimrecon --help` stays fast and a broken optional module cannot take the whole CLI down.
Every ScimreconError becomes one line on stderr and its documented exit code; a traceback is
shown only with --debug. So do Click's usage errors (one line, `error: ...`, exit 2, the hint to
`--help` on the same line), Ctrl-C outside a run (exit 130, saying nothing was changed when that
is so) and a reader that went away (`scimrecon runs | head -1`: quiet, exit 141).
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import sys
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click

from scimrecon import __version__
from scimrecon.cli.outputs import guarded
from scimrecon.errors import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_TARGETS_FAILED,
    EXIT_USAGE,
    ScimreconError,
)

# command name -> "module:attribute"; the order is the order of `--help`.
COMMANDS: dict[str, str] = {
    "analyze": "scimrecon.cli.analyze:analyze",
    "counts": "scimrecon.cli.counts:counts",
    "billing": "scimrecon.cli.billing:billing",
    "options": "scimrecon.cli.ways_out:options",
    "reconcile": "scimrecon.cli.reconcile:reconcile",
    "playbooks": "scimrecon.cli.playbooks:playbooks",
    "plan": "scimrecon.cli.run:plan",
    "run": "scimrecon.cli.run:run",
    "rehearse": "scimrecon.cli.rehearse:rehearse",
    "resume": "scimrecon.cli.resume:resume",
    "abort": "scimrecon.cli.undo:abort",
    "undo": "scimrecon.cli.undo:undo",
    "status": "scimrecon.cli.status:status",
    "runs": "scimrecon.cli.status:runs",
    "log": "scimrecon.cli.status:log",
    "report": "scimrecon.cli.status:report",
    "scim": "scimrecon.cli.scim:scim",
    "accounts": "scimrecon.cli.accounts:accounts",
    "idp": "scimrecon.cli.idp:idp",
    "config": "scimrecon.cli.config_cmd:config",
    "sim": "scimrecon.cli.sim:sim",
    "demo": "scimrecon.cli.demo:demo",
}


@dataclass
class CliState:
    """What the root options tell every subcommand (reach it with `click.pass_obj`)."""

    debug: bool = False
    profile: Path | None = None
    state: Path | None = None
    quiet: bool = False


def _set_profile(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    """`--profile` after the subcommand means what it means before it (issue 15: one way)."""
    if value is not None:
        root = ctx.find_root()
        if isinstance(root.obj, CliState):
            root.obj.profile = value


_PROFILE_AFTER = click.Option(
    ["--profile"],
    type=click.Path(dir_okay=False, path_type=Path),
    expose_value=False,
    callback=_set_profile,
    metavar="FILE",
    help="Profile TOML (also accepted before the command; env: SCIMRECON_PROFILE).",
)


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """`--quiet` after the subcommand means what it means before it."""
    root = ctx.find_root()
    if value and isinstance(root.obj, CliState):
        root.obj.quiet = True


_QUIET_AFTER = click.Option(
    ["--quiet", "-q"],
    is_flag=True,
    expose_value=False,
    callback=_set_quiet,
    help="No progress on stderr (also accepted before the command; env: SCIMRECON_QUIET).",
)


def _available(name: str) -> bool:
    module, _, _ = COMMANDS[name].partition(":")
    return importlib.util.find_spec(module) is not None


def _whole_one_liners(group: click.Group, ctx: click.Context, formatter: Any) -> None:
    """The command list with each command's whole first sentence, wrapped to the terminal.
    Click's default cuts it to one line ending in "...": at 80 columns most were cut."""
    rows = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is not None and not command.hidden:
            rows.append((name, command.get_short_help_str(limit=10_000)))
    if rows:
        with formatter.section("Commands"):
            formatter.write_dl(rows)


class LazyGroup(click.Group):
    """A group that imports a subcommand's module on first use and owns the error boundary."""

    def format_commands(self, ctx: click.Context, formatter: Any) -> None:
        _whole_one_liners(self, ctx, formatter)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if _available(name)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _available(cmd_name):
            return None
        module, _, attr = COMMANDS[cmd_name].partition(":")
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        _accept_root_options(command)
        return command

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        # The root's own options (`--help`, `--version`, a bad one) are parsed here, outside
        # `invoke`: the same one-line errors and quiet broken pipes apply.
        try:
            return super().make_context(*args, **kwargs)
        except click.ClickException as exc:
            _usage_error(exc)
        except BrokenPipeError:
            _stdout_gone()

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except click.ClickException as exc:
            _usage_error(exc)
        except BrokenPipeError:
            _stdout_gone()
        except ScimreconError as exc:
            _fail(ctx, exc, exc.message, exc.exit_code)
        except KeyboardInterrupt as exc:  # a run handles its own; this is anywhere else
            _fail(ctx, exc, "interrupted (Ctrl-C)", EXIT_INTERRUPTED)
        except Exception as exc:  # the last line of defence: one line, never a raw traceback
            message = f"unexpected {type(exc).__name__}: {exc} (run with --debug for details)"
            _fail(ctx, exc, message, EXIT_TARGETS_FAILED)


def _accept_root_options(command: click.Command) -> None:
    """Let `--profile` and `--quiet` follow any subcommand too (groups pass them on), and guard
    every command's output files (cli/outputs.py)."""
    if isinstance(command, click.Group):
        command.format_commands = functools.partial(_whole_one_liners, command)  # type: ignore[method-assign]
        for sub in command.commands.values():
            _accept_root_options(sub)
        return
    if command.callback is not None:
        command.callback = guarded(command.callback)
    if not any("--profile" in p.opts for p in command.params):
        command.params.append(_PROFILE_AFTER)
    if not any("--quiet" in p.opts for p in command.params):
        command.params.append(_QUIET_AFTER)


def _fail(ctx: click.Context, exc: BaseException, message: str, code: int) -> None:
    state = ctx.obj if isinstance(ctx.obj, CliState) else CliState()
    if state.debug:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    # When nobody reads stderr either, the exit code is all that is left to say it.
    with suppress(BrokenPipeError):
        click.echo(f"error: {message}", err=True)
    ctx.exit(code)


def _usage_error(exc: click.ClickException) -> NoReturn:
    """Click's usage and parameter errors as one line: `error: ...`, exit 2.

    Click prints the usage, a hint and `Error: ...` over several lines; scripts and people
    reading logs get one line that still names the help to read.
    """
    no_args = getattr(click.exceptions, "NoArgsIsHelpError", ())
    if isinstance(exc, no_args):  # bare `scimrecon`: the help is the answer, not an error
        exc.show()
        sys.exit(0)
    message = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        message += f" (see '{ctx.command_path} --help')"
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _stdout_gone() -> NoReturn:
    """The reader of stdout went away (`| head -1`): stop quietly with exit 141.

    Python's documented pattern: point stdout at /dev/null so the flush at exit cannot fail
    again and print "Exception ignored ... BrokenPipeError" (signal module docs, "Note on
    SIGPIPE"). A run never gets here half-way: its progress goes to stderr (ClickInteraction
    swallows a closed stderr), so stdout is only written before a run starts and after it ends.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real descriptor (tests): nothing to flush
        pass
    sys.exit(EXIT_BROKEN_PIPE)


@click.group(
    cls=LazyGroup,
    # help as wide as the terminal (up to 120 columns), so one-liners are not cut at 80
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120},
)
@click.version_option(__version__, prog_name="scimrecon")
@click.option("--debug", is_flag=True, help="Show debug logs and tracebacks (never secrets).")
@click.option(
    "--profile",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SCIMRECON_PROFILE",
    help="Profile TOML with endpoints and ids (env: SCIMRECON_PROFILE).",
)
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="State file for the run commands (also accepted after them; env: SCIMRECON_STATE).",
)
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    envvar="SCIMRECON_QUIET",
    help="No progress on stderr (shown only on a terminal anyway; env: SCIMRECON_QUIET).",
)
@click.pass_context
def cli(
    ctx: click.Context, debug: bool, profile: Path | None, state: Path | None, quiet: bool
) -> None:
    """Find and fix identity drift and unwanted billable access in Atlassian Cloud."""
    ctx.obj = CliState(debug=debug, profile=profile, state=state, quiet=quiet)
    if debug:
        # Our own loggers only: they are written to be redacted. Third-party debug output
        # (httpcore's connection chatter) would drown the story and is not ours to vouch for.
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        ours = logging.getLogger("scimrecon")
        ours.setLevel(logging.DEBUG)
        if not any(isinstance(h, logging.StreamHandler) for h in ours.handlers):
            ours.addHandler(handler)


def main() -> None:
    """Console-script entry point."""
    try:
        cli.main(prog_name="scimrecon")
    except KeyboardInterrupt:  # before or after a command (start-up, exit): nothing of ours ran
        click.echo("error: interrupted (Ctrl-C)", err=True)
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":  # pragma: no cover
    # `python -m scimrecon.cli.main`: run the imported module, not this `__main__` copy, so
    # that there is one CliState class and `--profile` reaches every command.
    from scimrecon.cli import main as _imported

    _imported.main()

__all__ = ["EXIT_USAGE", "CliState", "cli", "main"]
