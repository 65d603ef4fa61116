"""Fixtures for the engine tests: a World to count effects, hooks wiring the test step library
into the real CLI commands, and a scripted Interaction standing in for a person."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from scimrecon.cli import run as run_cli
from scimrecon.cli.main import cli
from scimrecon.errors import RefusedError

from .steplib import REGISTRY, World

DATA = Path(__file__).parent / "data"


@dataclass
class ScriptedUI:
    """A person who answers from a script; `interactive=False` is a terminal-less CI job."""

    assume_yes: bool = False
    interactive: bool = True
    confirm_answers: list[bool] = field(default_factory=list)
    manual_answers: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    manuals: list[tuple[str, str]] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)

    def confirm(self, message: str) -> bool:
        self.asked.append(message)
        if self.assume_yes:
            return True
        if not self.interactive:
            raise RefusedError(f"{message}: no terminal; pass --yes")
        return self.confirm_answers.pop(0) if self.confirm_answers else False

    def manual(self, instructions: str, expect: str) -> None:
        self.manuals.append((instructions, expect))
        if not self.interactive:
            raise RefusedError("a manual step needs a person at a terminal")
        answer = self.manual_answers.pop(0) if self.manual_answers else expect
        if answer == "^C":
            raise KeyboardInterrupt
        assert answer == expect

    def info(self, message: str) -> None:
        self.infos.append(message)


@dataclass
class Harness:
    """Runs the real `scimrecon` CLI in-process with the test step library."""

    tmp: Path
    world: World
    ui: ScriptedUI
    state: Path

    def invoke(self, *args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, [*args], input=input, catch_exceptions=False)

    def run(self, playbook: str, targets: Path, *extra: str) -> Result:
        return self.invoke(
            "run", str(DATA / playbook), "--targets", str(targets), "--state", str(self.state),
            *extra,
        )  # fmt: skip

    def targets(self, text: str, name: str = "targets.csv") -> Path:
        path = self.tmp / name
        path.write_text(text, encoding="utf-8")
        return path


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path / "world.db")
    yield w
    w.close()


@pytest.fixture
def harness(tmp_path: Path, world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    ui = ScriptedUI()

    def make_ui(*, assume_yes: bool = False, **_: Any) -> ScriptedUI:
        ui.assume_yes = assume_yes
        return ui

    monkeypatch.setattr(run_cli.HOOKS, "registry", lambda: REGISTRY)
    monkeypatch.setattr(run_cli.HOOKS, "services", lambda state: world)
    monkeypatch.setattr(run_cli.HOOKS, "interaction", make_ui)
    yield Harness(tmp=tmp_path, world=world, ui=ui, state=tmp_path / "state.db")


HOLD = """
import sys, time
from pathlib import Path
from scimrecon.engine.state import StateStore
store = StateStore.open(Path(sys.argv[1]), create=False)
store.acquire(sys.argv[2])
print("held", flush=True)
time.sleep(60)
"""


def hold_run(path: Path, run_id: str) -> subprocess.Popen[str]:
    """Another process that really holds a run (its OS lock and its recorded pid) until killed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), run_id],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc
