"""`scimrecon sim capture`: the live org, read-only, as a fixture world (its *twin*).

The reading is `recon.capture` (through the profile's connectors, paced by their limits), the
world-building `sim.twin`, the pseudonyms `sim.redact`; this module wires them, reports
progress on stderr and keeps the checkpoint that lets an interrupted capture start again where
it stopped (`OUT.partial`, removed once the twin is written).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from scimrecon.cli.main import CliState
from scimrecon.cli.outputs import OutputFile
from scimrecon.engine.targets import DEFAULT_MAX_TARGETS, load_targets
from scimrecon.errors import InputError
from scimrecon.recon.capture import Checkpoint, checkpoint_key, issues_option, read_capture


def progress_line(message: str) -> None:
    """The progress hook: plain lines on stderr (a richer display can replace it)."""
    click.echo(message, err=True)


@dataclass
class CaptureResult:
    world: dict[str, Any]
    inferred: list[str] = field(default_factory=list)
    #: target email -> its pseudonym (only with --redact), to write a redacted target list
    targets: dict[str, str] = field(default_factory=dict)
    #: with --redact: redacts free text (a state file) the way the twin was redacted
    rewrite: Callable[[str], str] | None = None


def target_emails(path: Path | None) -> list[str]:
    if path is None:
        return []
    found = load_targets(path, columns=("email",), key="email", max_targets=DEFAULT_MAX_TARGETS)
    return [t.key for t in found.targets]


def capture_world(
    services: Any,
    out: Path,
    *,
    targets: list[str],
    issues: str | None,
    redact: bool = False,
    map_domains: bool = False,
    progress: Callable[[str], None] = progress_line,
) -> CaptureResult:
    """Read the org, build (and optionally redact) the twin, validate it and write it to
    `out`; the checkpoint beside it is reused if it is for the same org, targets and query."""
    from scimrecon.sim.redact import Pseudonyms, redact_world
    from scimrecon.sim.twin import world_from_capture
    from scimrecon.sim.validate import validate_world
    from scimrecon.sim.world import WorldError, dump_world, problems_message

    query = issues_option(issues, targets)
    checkpoint = Checkpoint(
        out.with_name(out.name + ".partial"), checkpoint_key(services, targets, query)
    )
    capture = read_capture(
        services, targets=targets, issues=query, checkpoint=checkpoint, progress=progress
    )
    built = world_from_capture(capture)
    world, mapped, rewrite = built.world, {}, None
    if redact:
        names = Pseudonyms(world, map_domains=map_domains)
        rewrite = names.rewriter(world)
        mapped = {t: rewrite(t) for t in targets}
        world = redact_world(world, map_domains=map_domains)
        _no_leftovers(built.world, world, names)
    problems = validate_world(world)
    if problems:  # a bug of ours, or an org the fixture format cannot describe: say which
        raise WorldError(problems_message(str(out), problems), problems)
    dump_world(world, out)
    checkpoint.discard()
    return CaptureResult(world=world, inferred=built.inferred, targets=mapped, rewrite=rewrite)


def _no_leftovers(original: dict[str, Any], redacted: dict[str, Any], names: Any) -> None:
    """Refuse to write a redacted twin that still holds an original address anywhere (an
    address that is its own pseudonym, from capturing a redacted twin again, is no leak)."""
    text = json.dumps(redacted, ensure_ascii=False).lower()
    for account in original.get("accounts") or []:
        email = str(account.get("email") or "").lower()
        if email and email in text and names.address(email) != email:
            raise InputError(f"redaction left an original address in the twin ({email[:2]}…)")


@click.command("capture")
@click.option(
    "--out",
    required=True,
    type=OutputFile(),
    help="Where to write the twin (a fixture world); OUT.partial holds a restartable checkpoint.",
)
@click.option(
    "--targets",
    "targets_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Target list (email column): whose Jira tickets to read.",
)
@click.option(
    "--issues",
    metavar="JQL|auto|none",
    default=None,
    help="Which Jira issues to copy: a JQL query, `auto` (default with --targets: every issue "
    "a target reports, is assigned or participates in) or `none`.",
)
@click.option("--redact", is_flag=True, help="Replace people's names and emails by pseudonyms.")
@click.option(
    "--map-domains",
    is_flag=True,
    help="With --redact: map the email domains (orgN.example) and site names (siteN) too.",
)
@click.option(
    "--targets-out",
    type=OutputFile(),
    help="With --redact and --targets: write the target list with the pseudonymous emails.",
)
@click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --redact and --state-out: a state file to redact the same way (only read).",
)
@click.option(
    "--state-out",
    type=OutputFile(),
    help="Where to write the redacted copy of --state (a new file).",
)
@click.pass_context
def capture(
    ctx: click.Context,
    out: Path,
    targets_path: Path | None,
    issues: str | None,
    redact: bool,
    map_domains: bool,
    targets_out: Path | None,
    state_path: Path | None,
    state_out: Path | None,
) -> None:
    """Read the live org (read-only) and write it as a fixture world: its twin.

    Reads the org's directories and accounts (status, roles, product access, last active),
    the SCIM directory's users and groups, the IdP's users, assignments and job state, and the
    Jira issues that reference the targets; keys are never copied (the twin gets fake ones).
    """
    from scimrecon.cli.run import HOOKS

    if targets_out is not None and not (redact and targets_path):
        raise InputError("--targets-out needs --redact and --targets")
    if (state_path is None) != (state_out is None) or (state_path and not redact):
        raise InputError("--state and --state-out go together, with --redact")
    if state_out is not None and state_out.exists():
        raise InputError(f"{state_out}: already exists; choose a new file for the redacted copy")
    targets = target_emails(targets_path)
    state = ctx.find_object(CliState)
    services = HOOKS.services(state if isinstance(state, CliState) else None)
    try:
        result = capture_world(
            services,
            out,
            targets=targets,
            issues=issues,
            redact=redact,
            map_domains=map_domains,
        )
    finally:
        services.close()
    for note in result.inferred:
        click.echo(f"inferred: {note}", err=True)
    if targets_out is not None:
        targets_out.write_text(
            "email\n" + "".join(f"{result.targets[t]}\n" for t in targets), encoding="utf-8"
        )
    if state_path is not None and state_out is not None and result.rewrite is not None:
        from scimrecon.engine.state_redact import redacted_copy

        redacted_copy(state_path, state_out, result.rewrite)
        click.echo(f"wrote {state_out}: {state_path} with the same pseudonyms", err=True)
    world = result.world
    click.echo(
        f"wrote {out}: {len(world['accounts'])} accounts, {len(world['scim_users'])} SCIM users, "
        f"{len((world.get('idp') or {}).get('users') or [])} IdP users, "
        f"{len((world.get('jira') or {}).get('issues') or [])} issues"
        + (" (redacted)" if redact else "")
    )


__all__ = ["CaptureResult", "capture", "capture_world", "progress_line", "target_emails"]
