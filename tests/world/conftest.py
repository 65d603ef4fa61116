"""Helpers for the world tests: a CLI that has the error boundary, and fresh fixture copies."""

from __future__ import annotations

import copy
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from scimrecon.cli.main import LazyGroup, cli
from scimrecon.cli.sim_world import check, generate
from scimrecon.sim.world import load_world

_CACHE: dict[str, dict[str, Any]] = {}


def fixture_world(name: str) -> dict[str, Any]:
    """A deep copy of a shipped fixture, so a test may mutate it freely."""
    if name not in _CACHE:
        _CACHE[name] = load_world(name)
    return copy.deepcopy(_CACHE[name])


class _SimOnly(LazyGroup):
    """The root group's error boundary over just our two commands (until `sim` attaches them)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return ["check", "generate"]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return {"check": check, "generate": generate}.get(cmd_name)


@click.group(cls=_SimOnly)
def _standalone() -> None:
    """Stand-in for `scimrecon sim`."""


def _sim_group_ready() -> bool:
    try:
        group = cli.get_command(click.Context(cli), "sim")
    except Exception:
        return False
    return isinstance(group, click.Group) and {"check", "generate"} <= set(group.commands)


def run_sim(*args: str) -> Result:
    """`scimrecon sim ARGS` through the real root CLI when the sim group has our commands."""
    runner = CliRunner()
    if _sim_group_ready():
        return runner.invoke(cli, ["sim", *args])
    return runner.invoke(_standalone, list(args))


@pytest.fixture
def acme() -> dict[str, Any]:
    return fixture_world("acme-trello")
