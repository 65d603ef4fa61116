"""Every example in docs/analysis.md and docs/org-admin-guide.md is real: each ```console
block's command is run again and must print exactly what the page shows. Regenerate the
outputs after a deliberate change with

    .venv/bin/python tests/recon/test_docs_examples.py --write
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
DOCS = (ROOT / "docs" / "analysis.md", ROOT / "docs" / "org-admin-guide.md")
BLOCK = re.compile(r"```console\n\$ (?P<cmd>[^\n]+)\n(?P<out>.*?)```", re.DOTALL)


def _run(command: str, cwd: Path) -> str:
    from scimrecon.cli.main import cli

    args = shlex.split(command)
    assert args[0] == "scimrecon", command
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner(env={"SCIMRECON_PROFILE": ""}).invoke(cli, args[1:])
    finally:
        os.chdir(old)
    code = "" if result.exit_code == 0 else f"[exit {result.exit_code}]\n"
    return result.output + code


def _sandbox(tmp: Path) -> Path:
    """A working directory with the example inputs at the paths the page uses."""
    (tmp / "tests" / "recon").mkdir(parents=True, exist_ok=True)
    link = tmp / "tests" / "recon" / "data"
    if not link.exists():
        link.symlink_to(ROOT / "tests" / "recon" / "data")
    if not (tmp / "fixtures").exists():
        (tmp / "fixtures").symlink_to(ROOT / "scimrecon" / "fixtures")
    return tmp


def _examples() -> list[tuple[str, str]]:
    return [
        (m["cmd"], m["out"])
        for doc in DOCS
        for m in BLOCK.finditer(doc.read_text(encoding="utf-8"))
    ]


def test_the_page_has_examples_of_every_command() -> None:
    commands = {shlex.split(cmd)[1] for cmd, _ in _examples()}
    assert {"analyze", "counts", "billing", "reconcile", "options"} <= commands


@pytest.mark.parametrize(("command", "shown"), _examples(), ids=lambda v: v[:60])
def test_example_output_is_what_the_command_prints(
    command: str, shown: str, tmp_path: Path
) -> None:
    assert _run(command, _sandbox(tmp_path)) == shown


def _write() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cwd = _sandbox(Path(tmp))

        def fill(m: re.Match[str]) -> str:
            return f"```console\n$ {m['cmd']}\n{_run(m['cmd'], cwd)}```"

        for doc in DOCS:
            doc.write_text(BLOCK.sub(fill, doc.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        sys.path.insert(0, str(ROOT))
        _write()
