"""The contract between the engine and the step library.

An action is one idempotent, checkable unit of remediation. The runner never trusts that an
`apply` happened just because it was started: it records the intent, calls `apply`, records the
outputs; and after a crash it asks `check` whether the postcondition holds before deciding to
apply again. That is why `check` must be read-only and must be able to recover the outputs that
later steps need (e.g. the SCIM id) from the world itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from scimrecon.errors import ScimreconError


class Skip(Exception):
    """Raised by `check` or `apply`: this target should not get this step (or any later one).

    The reason is shown to the user (`skip: admin`) and recorded in state and audit.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StepFailed(ScimreconError):
    """Raised by `apply`: the target failed at this step; the others go on. Raised by
    `describe` while planning: the step is certain to fail for this target (the plan shows it
    as an error, and `run` does not start the target)."""


class MissingOutput(StepFailed):
    """An output of an earlier step is not there. In a run the playbook's order is wrong; in a
    plan the earlier step has not run yet or could not be read, so nothing is certain."""


class Interaction(Protocol):
    """How a step talks to the person running it; the CLI and the tests each provide one."""

    def confirm(self, message: str) -> bool:
        """Yes/no question; `--yes` answers yes. Used for `confirm = true` steps."""
        ...

    def manual(self, instructions: str, expect: str) -> None:
        """Show instructions for a manual step, then require the person to type `expect`.

        `--yes` never answers this. Raises RefusedError when nobody can answer (no TTY).
        """
        ...

    def info(self, message: str) -> None:
        """A line of progress for the person watching."""
        ...


@dataclass
class StepContext:
    """Everything an action may read. `target` holds the target's columns plus the outputs of
    every earlier step for that target; for `run`-scoped steps it is empty.
    """

    run_id: str
    step_id: str
    params: Mapping[str, Any]
    services: Any
    ui: Interaction
    target_key: str | None = None
    target: dict[str, Any] = field(default_factory=dict)
    step_options: Mapping[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    run_outputs: dict[str, Any] = field(default_factory=dict)
    #: Actions of run-scoped steps this run has started (intent recorded), finished or not.
    #: A crash can lose a step's outputs but never its intent: "did this run pause
    #: provisioning?" is answered from here, not from outputs that may never have been written.
    started_actions: frozenset[str] = frozenset()
    #: This very step was started before (its intent is recorded): `check` is settling it.
    settling: bool = False
    #: Run by an undo (a window step run forward): a message names the undo's commands.
    undoing: bool = False
    #: Reads one attempt of this step has made, keyed by the action: `apply` may reuse what its
    #: own `check` read a moment before instead of asking the API again. Emptied by the runner
    #: before every attempt, so a retry never sees an answer from before its failure.
    memo: dict[Any, Any] = field(default_factory=dict)

    def param(self, name: str, default: Any = None) -> Any:
        """A step option overrides a playbook parameter of the same name."""
        if name in self.step_options:
            return self.step_options[name]
        return self.params.get(name, default)


class Action(ABC):
    """One kind of step. Subclasses are registered by name in the step library."""

    name: ClassVar[str]
    #: Makes a change that cannot simply be taken back (delete, unlink, email change, disable).
    destructive: ClassVar[bool] = False
    #: Calling `apply` twice has the same effect as once (the runner still checks first).
    idempotent: ClassVar[bool] = False
    #: `check` and `describe` are safe in --dry-run (read-only); every shipped action must be.
    supports_dry_run: ClassVar[bool] = True
    #: `apply` only reads (a look-up, a count). The planner runs it, so later steps are planned
    #: with its outputs (real ids in the plan), and it never marks the world as "about to change".
    read_only: ClassVar[bool] = False
    #: Whether the runner asks `check` before the first attempt of this step for a target
    #: (the step was never started for it). False only for idempotent actions whose `apply`
    #: is harmless when the effect is already there, or fails so that the runner's own
    #: settle-by-check after an error recognises it: the check would only repeat a read an
    #: earlier step of the run just made. A started step (resume, retry) is always checked.
    check_first_time: ClassVar[bool] = True

    @abstractmethod
    def describe(self, ctx: StepContext) -> str:
        """One line for the plan: what `apply` would do for this context."""

    @abstractmethod
    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        """Read-only. Return the outputs if the postcondition already holds, else None.

        May raise Skip when the target should not be touched at all.
        """

    @abstractmethod
    def apply(self, ctx: StepContext) -> dict[str, Any]:
        """Make the change; return outputs merged into the target's context."""

    def validate(self, ctx: StepContext) -> None:  # noqa: B027 (an optional hook)
        """Vet this step's parameters once, before anything is planned or run.

        Raise InputError (exit 2, naming the parameter) for a value no target could use,
        such as a template with an unknown placeholder. `ctx` has no target. Read-only.
        """

    # -- undo: the same check/apply shape, so an undo is checkpointed and settled alike ------
    #
    # `scimrecon undo RUN` walks a target's steps backwards. For each step whose effect is in
    # place (done, or started and maybe done) it asks `irreversible` first (a reason stops the
    # undo of that target), then `undo_check` (read-only: the world is already back -> outputs;
    # the world is not what the run left -> raise Skip with the reason, and the target is
    # refused; else None), then records the intent and calls `undo_apply`. After a crash an undo
    # step found `running` is settled by `undo_check`, exactly like a forward step.

    #: `apply` changes something (False for look-ups and pure waits: nothing to undo).
    has_effect: ClassVar[bool] = True
    #: The undo must run while the run-wide window (provisioning paused) is open.
    undo_in_window: ClassVar[bool] = False
    #: The undo is only proven once the window has closed again (a re-push by the IdP):
    #: `undo_check` is polled after the window's closing step, like a wait step.
    undo_after_window: ClassVar[bool] = False
    #: A run-scoped action that opens ("open": pause provisioning) or closes ("close": resume
    #: it) the run-wide window; the undo runs the playbook's own such steps forward.
    window: ClassVar[str | None] = None
    #: `apply` is only safe while the window is open: a playbook that places the step
    #: anywhere else is refused when it is loaded (engine/playbook.py).
    needs_window: ClassVar[bool] = False

    def undo_describe(self, ctx: StepContext) -> str:
        """One line for the undo plan."""
        return f"would undo {ctx.step_id}"

    def irreversible(self, ctx: StepContext) -> str | None:
        """Why this step's effect cannot be taken back here (None: it can, if `has_undo`)."""
        return None

    def undo_check(self, ctx: StepContext) -> dict[str, Any] | None:
        """Read-only: outputs if the world is already as before the step; Skip if unrecognised."""
        return None

    def undo_apply(self, ctx: StepContext) -> dict[str, Any]:
        """Take the step's effect back; returns outputs recorded with the undo step."""
        self.undo(ctx)
        return {}

    def undo(self, ctx: StepContext) -> None:
        """The inverse of `apply`, where one exists (simple actions may override only this)."""
        raise NotImplementedError(f"{self.name} has no undo")

    @classmethod
    def has_undo(cls) -> bool:
        return cls.undo is not Action.undo or cls.undo_apply is not Action.undo_apply


class ReadAction(Action):
    """An action that only reads (a look-up, a count): `apply` is the read, and may Skip.

    There is no postcondition to check, so `check` never claims "already done"; the planner
    applies such actions, so the plan carries the ids they find.
    """

    read_only: ClassVar[bool] = True
    idempotent: ClassVar[bool] = True
    has_effect: ClassVar[bool] = False
    #: The plan's answer may stand in for the run's own (engine/adopt.py). False for a read
    #: whose answer depends on the run itself, e.g. on whether a person is at the terminal.
    adoptable: ClassVar[bool] = True
    #: The plan's fingerprint holds what the read found, so `run --plan` refuses a changed
    #: world. False for a figure only the report shows (a count of comments), which may
    #: change between plan and run without making the plan wrong about anyone.
    fingerprinted: ClassVar[bool] = True

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        return None

    def finish_early(self, ctx: StepContext) -> dict[str, Any] | None:
        """For a run step read early (`start_after`, decision 104): its outputs as of now,
        from what `apply` read while the last changes went on plus the run's own writes
        since, or None when it cannot tell (then it is read again in its own place). The
        default cannot: a read knows nothing of the writes after it."""
        return None


class ActionRegistry:
    """Name -> action class. The CLI fills it from `scimrecon.steps`; tests bring their own."""

    def __init__(self, actions: Mapping[str, type[Action]] | None = None) -> None:
        self._actions: dict[str, type[Action]] = dict(actions or {})

    def register(self, cls: type[Action]) -> type[Action]:
        self._actions[cls.name] = cls
        return cls

    def get(self, name: str) -> type[Action]:
        try:
            return self._actions[name]
        except KeyError:
            raise KeyError(name) from None

    def __contains__(self, name: object) -> bool:
        return name in self._actions

    def names(self) -> list[str]:
        return sorted(self._actions)
