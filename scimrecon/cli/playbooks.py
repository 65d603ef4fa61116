"""`playbooks` and `playbooks show`: what can be run, written for a person to read first.

`show` prints the steps the way the run will take them (numbered, scope, flags, manual
instructions, parameters with defaults), so an admin can review a playbook without reading TOML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from scimrecon.cli.render import table, to_json
from scimrecon.engine.playbook import MANUAL_ACTION, Playbook, Step, discover, load_playbook
from scimrecon.errors import ScimreconError

playbooks_dir_option = click.option(
    "--playbooks",
    "playbook_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    envvar="SCIMRECON_PLAYBOOKS",
    help="Also look for playbooks in this directory (repeatable; env: SCIMRECON_PLAYBOOKS).",
)


def _registry() -> Any:
    from scimrecon.cli.run import HOOKS  # lazy: run.py imports this module

    return HOOKS.registry()


def _step_doc(step: Step) -> dict[str, Any]:
    return {
        "id": step.id,
        "action": step.action,
        "scope": step.scope,
        "flags": step.flags(),
        "description": step.description,
        "when": step.when.source if step.when else None,
        "manual": step.manual,
        "wait": (
            {"interval_s": step.wait.interval_s, "timeout_s": step.wait.timeout_s}
            if step.wait
            else None
        ),
        "retry": {"attempts": step.retry.attempts, "backoff_s": step.retry.backoff_s},
        "with": dict(step.options),
    }


def playbook_document(pb: Playbook) -> dict[str, Any]:
    return {
        "id": pb.id,
        "title": pb.title,
        "description": pb.description,
        "targets": {"columns": list(pb.columns), "key": pb.key},
        "params": {
            name: {
                "type": p.type,
                "default": p.default,
                "choices": list(p.choices) or None,
                "required": p.required,
                "description": p.description,
            }
            for name, p in pb.params.items()
        },
        "steps": [_step_doc(s) for s in pb.steps],
        "finally": [_step_doc(s) for s in pb.finally_steps],
    }


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)} {unit}"
    return f"{seconds:g} s"


def _step_lines(number: str, step: Step) -> list[str]:
    flags = " ".join(f.upper() for f in step.flags())
    action = "" if step.action == MANUAL_ACTION else f" ({step.action})"
    head = f"{number:>3}. {step.id} [{step.scope}]{action}"
    lines = [f"{head}  {flags}".rstrip()]
    indent = " " * 6
    if step.description:
        lines.append(f"{indent}{step.description}")
    if step.when:
        lines.append(f"{indent}only when: {step.when.source}")
    if step.wait:
        wait = step.wait
        lines.append(
            f"{indent}waits: checks every {_duration(wait.interval_s)}, "
            f"gives up after {_duration(wait.timeout_s)} (parks the run meanwhile)"
        )
    if step.retry.attempts > 1:
        lines.append(f"{indent}retries: {step.retry.attempts} attempts")
    if step.manual:
        lines.append(f"{indent}manual, you will type {step.expect!r} when done:")
        lines += [f"{indent}  | {line}" for line in step.manual.strip().splitlines()]
    return lines


def render_playbook(pb: Playbook) -> str:
    lines = [f"{pb.id}: {pb.title}", ""]
    if pb.description:
        lines += [pb.description, ""]
    lines.append(f"Targets: columns {', '.join(pb.columns)}; key {pb.key}")
    if pb.params:
        lines += ["", "Parameters (--param NAME=VALUE):"]
        for name, p in pb.params.items():
            default = "required" if p.required and p.default is None else f"default {p.default!r}"
            lines.append(f"  {name} ({p.describe_type()}, {default})")
            if p.description:
                lines.append(f"      {p.description}")
    lines += ["", "Steps:"]
    for i, step in enumerate(pb.steps, 1):
        lines += _step_lines(str(i), step)
    if pb.finally_steps:
        lines += ["", "Finally (after the run completes, fails or is aborted; not when parked):"]
        for i, step in enumerate(pb.finally_steps, 1):
            lines += _step_lines(f"F{i}", step)
    return "\n".join(lines)


@click.group(invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@playbooks_dir_option
@click.pass_context
def playbooks(ctx: click.Context, fmt: str, playbook_dirs: tuple[Path, ...]) -> None:
    """List the playbooks: shipped ones and those in --playbooks directories."""
    if ctx.invoked_subcommand is not None:
        return
    registry = _registry()
    docs: list[dict[str, Any]] = []
    for pid, source in discover(playbook_dirs).items():
        doc: dict[str, Any] = {"id": pid, "source": source.origin, "file": source.name}
        try:
            pb = load_playbook(pid, registry, playbook_dirs)
        except ScimreconError as exc:
            doc.update(title=None, steps=None, error=exc.message)
        else:
            doc.update(title=pb.title, steps=len(pb.steps), error=None)
        docs.append(doc)
    if fmt == "json":
        click.echo(to_json(docs))
        return
    rows = [[d["id"], d["title"] or "(invalid)", d["steps"] or "", d["source"]] for d in docs]
    click.echo(table(rows, ["id", "title", "steps", "source"]))
    for d in docs:
        if d["error"]:
            click.echo(f"warning: {d['error']}", err=True)


@playbooks.command()
@click.argument("playbook")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@playbooks_dir_option
@click.pass_context
def show(ctx: click.Context, playbook: str, fmt: str, playbook_dirs: tuple[Path, ...]) -> None:
    """Show a playbook's steps as a person would read them (PLAYBOOK: id or .toml path)."""
    parent = ctx.parent.params.get("playbook_dirs", ()) if ctx.parent else ()
    pb = load_playbook(playbook, _registry(), (*parent, *playbook_dirs))
    if fmt == "json":
        click.echo(to_json(playbook_document(pb)))
    else:
        click.echo(render_playbook(pb))
