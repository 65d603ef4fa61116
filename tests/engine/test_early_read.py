"""A run step that only reads may start while the flow before it still runs (`start_after`,
decision 104): the billable count after a reprovision reads the org's hundreds of pages while
the last tickets move, instead of after them. Its answer is as of the end of the flow (the
read plus the run's own writes since), and is recorded only when the flow ends cleanly."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from scimrecon.cli import run as run_cli
from scimrecon.engine.action import Action, ActionRegistry, ReadAction, StepContext, StepFailed
from scimrecon.engine.playbook import load_playbook
from scimrecon.engine.state import StateStore
from scimrecon.errors import InputError

from .conftest import DATA, Harness
from .steplib import REGISTRY, World

ADA, BOB, CY = "ada@acme.example", "bob@acme.example", "cy@acme.example"
#: set once the count's read has begun; `two` waits for it (at most GATE_S)
STARTED = threading.Event()
GATE_S = 10.0
#: what the count's read saw: the `two` effects that existed when it read
SEEN: list[int] = []


def _twos(world: World) -> int:
    return sum(1 for _, step, _, _ in world.effects() if step == "two")


class Gated(Action):
    """Writes its effect only once the count has started reading: proof the read began while
    the flow was still running (without `start_after` it would wait GATE_S and then go on)."""

    name = "test.gated"

    def describe(self, ctx: StepContext) -> str:
        return "would mark two"

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        return {"two": True} if ctx.services.has(ctx.target_key, "two") else None

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        STARTED.wait(GATE_S)
        if ctx.target.get("fail_at") == "two":
            raise StepFailed(f"{ctx.target_key} cannot be marked")
        ctx.services.effect(ctx.target_key or "", "two", self.name)
        return {"two": True}


class Count(ReadAction):
    """Counts `two` effects; `finish_early` counts them again at the end of the flow, standing
    in for the org listing amended by the run's own writes."""

    name = "test.count"

    def describe(self, ctx: StepContext) -> str:
        return "count the twos"

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        SEEN.append(_twos(ctx.services))
        STARTED.set()
        return {"twos": SEEN[-1]}

    def finish_early(self, ctx: StepContext) -> dict[str, Any] | None:
        return {"twos": _twos(ctx.services)}


ACTIONS = ActionRegistry(
    {
        **{name: REGISTRY.get(name) for name in REGISTRY.names()},
        "test.gated": Gated,
        "test.count": Count,
    }
)


@pytest.fixture
def early(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> Harness:
    STARTED.clear()
    SEEN.clear()
    monkeypatch.setattr(run_cli.HOOKS, "registry", lambda: ACTIONS)
    return harness


def _outputs(state: Path) -> dict[str, Any]:
    store = StateStore.open(state, create=False)
    try:
        return store.get_run("1").outputs
    finally:
        store.close()


def test_the_count_starts_during_the_flow_and_records_the_end_of_it(early: Harness) -> None:
    t = early.targets(f"email\n{ADA}\n{BOB}\n{CY}\n")
    result = early.run("early.toml", t, "--yes", "--concurrency", "3")
    assert result.exit_code == 0, result.output
    # read once, while no `two` existed yet (every target's `two` waited for the read) ...
    assert SEEN == [0]
    # ... and recorded as the flow left the world: all three
    assert _outputs(early.state)["twos"] == 3
    assert _twos(early.world) == 3


def _count_state(state: Path) -> str | None:
    store = StateStore.open(state, create=False)
    try:
        rec = store.step_states("1").get(("", "count"))
        return rec.state if rec is not None else None
    finally:
        store.close()


def test_a_run_that_stops_in_the_flow_keeps_no_early_count(early: Harness) -> None:
    """The count started early, then the run stopped (--max-fail-percent): a count taken
    before the run's last changes must not stand as the run's, so nothing is recorded."""
    t = early.targets(f"email,fail_at\n{ADA},\n{BOB},two\n{CY},\n")
    result = early.run("early.toml", t, "--yes", "--concurrency", "3", "--max-fail-percent", "10")
    assert result.exit_code != 0, result.output
    assert SEEN == [0]  # it did start early
    assert _count_state(early.state) is None  # and was not kept
    assert "twos" not in _outputs(early.state)


def test_start_after_must_name_a_step_of_the_flow_before_it(tmp_path: Path) -> None:
    text = (DATA / "early.toml").read_text(encoding="utf-8")
    run_step = 'action = "test.count"\nscope = "run"'
    cases = {
        'start_after = "one"': 'start_after = "pause"',
        run_step: run_step.replace('"run"', '"target"'),
    }
    messages = []
    for old, new in cases.items():
        path = tmp_path / "bad.toml"
        path.write_text(text.replace(old, new), encoding="utf-8")
        with pytest.raises(InputError) as err:
            load_playbook(str(path), ACTIONS)
        messages.append(str(err.value))
    assert messages[0] == (
        "bad.toml: steps[3] (count).start_after: 'pause' is not a target step right before "
        "this one (after the last run step): one, two"
    )
    assert messages[1] == (
        "bad.toml: steps[3] (count).start_after: only a run step without `confirm` or `wait` "
        "may start early"
    )
