"""Generate the reference docs that must never drift from the code.

`docs/cli.md` comes from the commands' own `--help`, and `docs/playbooks/*.md` from
the playbook TOML files. Tests regenerate both and fail when the committed copy is stale;
`python -m scimrecon.docgen` (or `make docs`) rewrites them.
"""

from __future__ import annotations

import sys
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import click

from scimrecon.errors import EXIT_OK, EXIT_PARKED, EXIT_REFUSED, EXIT_TARGETS_FAILED, EXIT_USAGE

DOCS = Path(__file__).resolve().parent.parent / "docs"
EXIT_CODES = (
    (EXIT_OK, "done"),
    (EXIT_TARGETS_FAILED, "some targets failed (the others went on)"),
    (EXIT_USAGE, "usage or input error: nothing was changed"),
    (EXIT_PARKED, "parked: waiting for something; `scimrecon resume RUN` later"),
    (EXIT_REFUSED, "aborted or refused (lock, stale plan, threshold, no confirmation)"),
    (130, "interrupted by Ctrl-C; resume or abort the run"),
)


def _walk(command: click.Command, path: list[str]) -> list[tuple[list[str], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1])
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not getattr(sub, "hidden", False):
                found.extend(_walk(sub, [*path, name]))
    return found


SHELL_COMPLETION = """## Shell completion

Click completes commands, options and choices. Add one line to your shell's start-up file:

```sh
eval "$(_SCIMRECON_COMPLETE=bash_source scimrecon)"   # in ~/.bashrc
eval "$(_SCIMRECON_COMPLETE=zsh_source scimrecon)"    # in ~/.zshrc
_SCIMRECON_COMPLETE=fish_source scimrecon | source    # in ~/.config/fish/config.fish
```
"""


def cli_reference() -> str:
    """Every command's `--help`, in the order `scimrecon --help` lists them."""
    from scimrecon.cli.main import cli

    parts = [
        "# CLI reference\n",
        "Generated from `--help` by `python -m scimrecon.docgen`; a test fails when it is stale.\n",
        "## Exit codes\n",
        "| code | meaning |",
        "| --- | --- |",
        *(f"| {code} | {meaning} |" for code, meaning in EXIT_CODES),
        "\nWhich command returns which, and what to do next: [exit-codes.md](exit-codes.md).\n",
        SHELL_COMPLETION,
    ]
    for path, command in _walk(cli, ["scimrecon"]):
        ctx = click.Context(
            command, info_name=" ".join(path), terminal_width=100, max_content_width=100
        )
        text = command.get_help(ctx)
        parts.append(f"## `{' '.join(path)}`\n\n```text\n{text}\n```\n")
    return "\n".join(parts)


def _playbook_files() -> list[tuple[str, str]]:
    folder = resources.files("scimrecon") / "playbooks"
    return sorted(
        (item.name, item.read_text(encoding="utf-8"))
        for item in folder.iterdir()
        if item.name.endswith(".toml")
    )


def _flags(step: dict[str, Any]) -> str:
    flags = [f for f in ("destructive", "confirm") if step.get(f)]
    if step.get("manual"):
        flags.append("manual")
    if step.get("wait"):
        wait = step["wait"]
        limit = f"up to {wait.get('timeout_s')} s"
        if wait.get("timeout_days_param"):  # the deadline a person set, in days
            plus = f" + {wait['days_plus_s']:g} s" if wait.get("days_plus_s") else ""
            limit = (
                f"up to `{wait['timeout_days_param']}` days{plus}, else {wait.get('timeout_s')} s"
            )
        flags.append(f"wait (every {wait.get('interval_s')} s, {limit})")
    if step.get("when"):
        flags.append(f"when `{step['when']}`")
    return ", ".join(flags) or "—"


def playbook_page(source: str) -> str:
    """One Markdown page a person can read before running the playbook."""
    doc = tomllib.loads(source)
    lines = [
        f"# Playbook `{doc['id']}`\n",
        f"**{doc['title']}**\n",
        doc.get("description", "").strip() + "\n",
        "Generated from the playbook's TOML by `python -m scimrecon.docgen`.\n",
        f"Targets: a CSV or JSON list with column(s) {', '.join(doc['targets']['columns'])}; "
        f"key `{doc['targets'].get('key', doc['targets']['columns'][0])}`.\n",
        "## Parameters\n",
        "| name | type | default | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for name, spec in doc.get("params", {}).items():
        kind = spec["type"] + (f" ({' / '.join(spec['choices'])})" if "choices" in spec else "")
        default, meaning = spec.get("default"), spec.get("description", "")
        lines.append(f"| `{name}` | {kind} | `{default}` | {meaning} |")
    if doc.get("notes"):
        lines += ["", doc["notes"].strip()]
    for title, key in (("Steps", "steps"), ("Finally (always runs)", "finally")):
        if not doc.get(key):
            continue
        header = "| # | id | action | scope | flags | what |"
        lines += [f"\n## {title}\n", header, "| --- " * 6 + "|"]
        for n, step in enumerate(doc[key], 1):
            lines.append(
                f"| {n} | `{step['id']}` | `{step['action']}` | {step.get('scope', 'target')} | "
                f"{_flags(step)} | {step.get('description', '')} |"
            )
    return "\n".join(lines) + "\n"


def expected_files() -> dict[Path, str]:
    files = {DOCS / "cli.md": cli_reference()}
    for name, source in _playbook_files():
        files[DOCS / "playbooks" / name.replace(".toml", ".md")] = playbook_page(source)
    return files


def main() -> int:
    for path, text in expected_files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(DOCS.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
