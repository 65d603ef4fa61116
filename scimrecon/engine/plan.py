"""Plans: what a run would do, computed by reading only, and proof the world has not moved.

Like a Terraform plan, a plan is a reviewable artefact: for every target and step it says
`would …`, `already done` or `skip: <reason>`. Saved with `--out`, it carries a fingerprint of
everything it read (targets, parameters, playbook, each check's result and describe line), so
`run --plan` can refuse (exit 4) when the world changed between review and execution. Plans
hold no secrets: only ids, statuses and the describe lines (redacted like every stored text).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from scimrecon.engine.action import (
    Action,
    ActionRegistry,
    Interaction,
    MissingOutput,
    Skip,
    StepContext,
    StepFailed,
)
from scimrecon.engine.builtin import with_builtins
from scimrecon.engine.playbook import MANUAL_ACTION, Playbook, Step
from scimrecon.engine.progress import NO_PROGRESS, ProgressListener
from scimrecon.engine.prompts import render_instructions
from scimrecon.engine.redact import redact
from scimrecon.engine.state import utc_now
from scimrecon.engine.targets import TargetList
from scimrecon.errors import CredentialsRefused, MissingSecret, RefusedError

PLAN_FORMAT = "scimrecon-plan/1"
STATUSES = ("would", "done", "skip", "n/a", "error")
#: the text of an error entry whose step is certain to fail (its describe said so)
WOULD_FAIL = "would fail: "


@dataclass(frozen=True)
class PlanEntry:
    target: str | None  # None: a run-scoped step
    step: str
    status: str  # one of STATUSES
    text: str
    digest: str = ""  # hash of the outputs `check` found (timestamps left out)


@dataclass(frozen=True)
class PlannedRead:
    """What a read-only step at the head of the playbook found while planning: its outputs,
    or the reason it skipped the target. Kept in memory only (never in a plan file): `run`
    may record them as the run's own (engine/adopt.py) instead of reading everything twice."""

    target: str  # "" for a run-scoped step
    step: str
    action: str
    outputs: dict[str, Any] | None  # None: skipped
    reason: str | None = None


def fingerprint(playbook_hash: Any, params: Any, targets_hash: Any, rows: list[Any]) -> str:
    """What a plan stands for, as one hash: a saved plan's own fields give it back unless
    somebody edited the file (plan_file.check_plan)."""
    material = {
        "playbook_hash": playbook_hash,
        "params": params,
        "targets_hash": targets_hash,
        "entries": rows,
    }
    blob = json.dumps(material, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class Plan:
    playbook: str
    playbook_hash: str
    params: dict[str, Any]
    targets_name: str
    targets_hash: str
    targets: int
    entries: list[PlanEntry] = field(default_factory=list)
    made_at: str = field(default_factory=utc_now)
    step_order: list[str] = field(default_factory=list)
    #: Reads of the steps before the first one that may change anything, in playbook order.
    reads: list[PlannedRead] = field(default_factory=list, repr=False, compare=False)

    @property
    def fingerprint(self) -> str:
        rows = [[e.target, e.step, e.status, e.text, e.digest] for e in self.entries]
        return fingerprint(self.playbook_hash, self.params, self.targets_hash, rows)

    def summary(self) -> dict[str, dict[str, int]]:
        """step id -> status -> count, in step order."""
        out: dict[str, dict[str, int]] = {step: {} for step in self.step_order}
        for e in self.entries:
            counts = out.setdefault(e.step, {})
            counts[e.status] = counts.get(e.status, 0) + 1
        return {step: counts for step, counts in out.items() if counts}

    def pending_steps(self) -> set[str]:
        return {e.step for e in self.entries if e.status == "would"}

    def certain_failures(self) -> dict[str, str]:
        """target -> "step: why", for each target with a step certain to fail (its first)."""
        out: dict[str, str] = {}
        for e in self.entries:
            if e.target and e.status == "error" and e.text.startswith(WOULD_FAIL):
                out.setdefault(e.target, f"{e.step}: {e.text.removeprefix(WOULD_FAIL)}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "playbook": self.playbook,
            "playbook_hash": self.playbook_hash,
            "params": self.params,
            "targets_file": self.targets_name,
            "targets_hash": self.targets_hash,
            "targets": self.targets,
            "made_at": self.made_at,
            "fingerprint": self.fingerprint,
            "summary": self.summary(),
            "entries": [asdict(e) for e in self.entries],
        }


class _ReadOnlyUI:
    """Checks and describes must never prompt: a plan is computed without a person."""

    def __init__(self, ui: Interaction) -> None:
        self._ui = ui

    def confirm(self, message: str) -> bool:
        raise RefusedError("a check asked for confirmation while planning")

    def manual(self, instructions: str, expect: str) -> None:
        raise RefusedError("a check asked for a manual step while planning")

    def info(self, message: str) -> None:
        self._ui.info(message)


def _digest(outputs: Mapping[str, Any]) -> str:
    # Timestamps (`*_at`) differ on every read without the world having changed.
    stable = {k: v for k, v in outputs.items() if not k.endswith("_at")}
    blob = json.dumps(stable, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def validate_params(
    playbook: Playbook,
    registry: ActionRegistry,
    params: Mapping[str, Any],
    services: Any = None,
    ui: Any = None,
) -> None:
    """Each step's parameters, vetted by its action before anything is read (InputError, 2).

    Called once without services, right after the parameters are typed (so a bad template is
    named before a missing profile), and again by the planner with them (verified domains).
    """
    registry = with_builtins(registry)
    for step in (*playbook.steps, *playbook.finally_steps):
        ctx = StepContext(
            run_id="plan",
            step_id=step.id,
            params=params,
            services=services,
            ui=ui,
            step_options=dict(step.options),
            dry_run=True,
        )
        registry.get(step.action)().validate(ctx)


class Planner:
    def __init__(
        self,
        playbook: Playbook,
        registry: ActionRegistry,
        services: Any,
        ui: Interaction,
        *,
        concurrency: int = 4,
        progress: ProgressListener = NO_PROGRESS,
    ) -> None:
        self.playbook = playbook
        self.registry = with_builtins(registry)
        self.services = services
        self.ui = _ReadOnlyUI(ui)
        self.concurrency = max(1, concurrency)
        self.progress = progress
        self._actions: dict[str, Action] = {}
        #: (target, step) -> outputs found, or the reason of a skip (read-only steps only).
        self._reads: dict[tuple[str, str], dict[str, Any] | str] = {}

    def _action(self, step: Step) -> Action:
        if step.action not in self._actions:
            self._actions[step.action] = self.registry.get(step.action)()
        return self._actions[step.action]

    def _head_reads(self, keys: list[str]) -> list[PlannedRead]:
        """The reads of the read-only steps that come before anything that may change the
        world (no manual step, no condition, nothing the run must answer itself), in
        playbook order; a step that could not be read for a target ("cannot check") is left
        out and the run reads it itself."""
        reads: list[PlannedRead] = []
        for step in self.playbook.steps:
            action = self._action(step)
            adoptable = getattr(action, "adoptable", True)
            if not action.read_only or step.manual or step.when is not None or not adoptable:
                break
            for key in [""] if step.scope == "run" else keys:
                found = self._reads.get((key, step.id))
                if isinstance(found, dict):
                    reads.append(PlannedRead(key, step.id, step.action, found))
                elif isinstance(found, str):
                    reads.append(PlannedRead(key, step.id, step.action, None, found))
        return reads

    def _entry(
        self,
        step: Step,
        key: str | None,
        target: dict[str, Any],
        params: Mapping[str, Any],
        run_outputs: dict[str, Any],
        after_change: bool,
    ) -> tuple[PlanEntry, bool, bool]:
        """One step's plan line, whether the target stops here (skip), and whether the step
        would change the world.

        `after_change` says an earlier step would change the world first: checking this step
        against today's world would then answer the wrong question (provisioning looks active
        before the pause that precedes its resume), so it is planned as `would` unchecked; a
        run-scoped read-only step there (the billable count after) is not read either.
        """
        options = dict(step.options)
        ctx = StepContext(
            run_id="plan",
            step_id=step.id,
            params=params,
            services=self.services,
            ui=self.ui,
            target_key=key,
            target=target,
            step_options=options,
            dry_run=True,
            run_outputs=run_outputs,
        )
        if step.manual and step.action == MANUAL_ACTION:
            options["instructions"] = render_instructions(step.manual, ctx)
        if step.when is not None and not step.when.holds(params, target, run_outputs):
            why = step.when.why_false(params, target, run_outputs)
            entry = PlanEntry(key, step.id, "n/a", f"not applicable: {why}")
            return entry, False, False
        action = self._action(step)
        outputs = target if key is not None else run_outputs
        try:
            # A run-wide read after a change (the billable count after) would count today's
            # world; a target's look-up still runs, so its skips and ids are in the plan.
            if action.read_only and not (after_change and key is None):
                found = action.apply(ctx)
                self._reads[(key or "", step.id)] = dict(found)
                outputs.update(found)
                text = redact(action.describe(ctx))
                digest = _digest(found) if getattr(action, "fingerprinted", True) else ""
                return PlanEntry(key, step.id, "would", text, digest), False, False
            found = None if after_change else action.check(ctx)
        except Skip as skip:
            if action.read_only:
                self._reads[(key or "", step.id)] = skip.reason
            return PlanEntry(key, step.id, "skip", redact(f"skip: {skip.reason}")), True, False
        except (MissingSecret, CredentialsRefused):
            raise  # the same for every target: one line for the plan, not one per row
        except StepFailed as exc:
            if action.read_only and key is not None and not isinstance(exc, MissingOutput):
                # a look-up that fails the target (its list names another account): nothing
                # after it would run, so nothing after it is planned as "would"; the run's own
                # look-up fails it again, before anything changes
                text = redact(f"fails here: {exc.message}")
                return PlanEntry(key, step.id, "error", text), True, False
            text = redact(f"cannot check: {exc.message}")
            return PlanEntry(key, step.id, "error", text), False, False
        except Exception as exc:
            text = redact(f"cannot check: {getattr(exc, 'message', None) or exc}")
            return PlanEntry(key, step.id, "error", text), False, False
        if found is not None:
            outputs.update(found)
            return PlanEntry(key, step.id, "done", "already done", _digest(found)), False, False
        try:
            text = action.describe(ctx)
        except MissingOutput as exc:  # an earlier step's answer is not there yet: no verdict
            text = f"would run {step.action} (cannot describe: {exc})"
        except StepFailed as exc:  # what the step would fail with, known now: an error
            text = redact(f"{WOULD_FAIL}{exc.message}")
            return PlanEntry(key, step.id, "error", text), False, False
        except Exception as exc:
            text = f"would run {step.action} (cannot describe: {exc})"
        if step.manual and step.action != MANUAL_ACTION:
            text += " (after a manual confirmation)"
        return PlanEntry(key, step.id, "would", redact(text)), False, not action.read_only

    def _reads_aside(self, position: int, after_change: bool) -> bool:
        """Whether the run-wide step at `position` may be read beside the steps after it: it
        only reads, nothing before it changes the world, and a target step that only reads
        comes next (something to overlap with)."""
        steps = (*self.playbook.steps, *self.playbook.finally_steps)
        step, following = steps[position], steps[position + 1 : position + 2]
        return (
            not after_change
            and self._action(step).read_only
            and not step.manual
            and step.when is None
            and bool(following)
            and following[0].scope == "target"
            and self._action(following[0]).read_only
        )

    def plan(self, params: Mapping[str, Any], targets: TargetList) -> Plan:
        """Read only: every step in playbook order; consecutive target steps each target
        through on its own, every target before the next run-wide step."""
        validate_params(self.playbook, self.registry, params, self.services, self.ui)
        self._reads = {}
        plan = Plan(
            playbook=self.playbook.id,
            playbook_hash=self.playbook.content_hash,
            params=dict(params),
            targets_name=targets.name,
            targets_hash=targets.digest,
            targets=len(targets),
            step_order=[s.id for s in (*self.playbook.steps, *self.playbook.finally_steps)],
        )
        walk = _Walk({t.key: dict(t.row) for t in targets.targets})
        steps = (*self.playbook.steps, *self.playbook.finally_steps)
        with (
            ThreadPoolExecutor(max_workers=self.concurrency) as pool,
            ThreadPoolExecutor(max_workers=1) as aside,
        ):
            index = 0
            while index < len(steps):
                step = steps[index]
                if step.scope == "run":
                    walk.join()
                    self._plan_run_step(index, walk, params, aside)
                    index += 1
                    continue
                end = index
                while end < len(steps) and steps[end].scope == "target":
                    end += 1
                if not all(self._action(s).read_only for s in steps[index:end]):
                    walk.join()
                self._plan_target_steps(steps[index:end], walk, params, pool)
                index = end
            walk.join()
        plan.entries = walk.run_entries + [e for k in walk.rows for e in walk.target_entries[k]]
        plan.reads = self._head_reads(list(walk.rows))
        return plan

    def _plan_run_step(
        self, position: int, walk: _Walk, params: Mapping[str, Any], aside: ThreadPoolExecutor
    ) -> None:
        """One run-wide step's entry. A read ahead of any change (the billable count: hundreds
        of pages read one after another) is read on a thread of its own while the target reads
        after it go on, up to the next run-wide step or the first step that may change the
        world: nothing changes meanwhile, so it counts the same world (decision 103)."""
        step = (*self.playbook.steps, *self.playbook.finally_steps)[position]
        after = walk.run_changed or bool(walk.changed)
        if self._reads_aside(position, after):
            outputs = dict(walk.run_outputs)
            future = aside.submit(self._entry, step, None, {}, params, outputs, after)
            walk.background.append((len(walk.run_entries), future, outputs))
            walk.run_entries.append(PlanEntry(None, step.id, "error", "not read"))
            return
        entry, _, change = self._entry(step, None, {}, params, walk.run_outputs, after)
        walk.run_entries.append(entry)
        walk.run_changed = walk.run_changed or change

    def _plan_target_steps(
        self,
        steps: tuple[Step, ...],
        walk: _Walk,
        params: Mapping[str, Any],
        pool: ThreadPoolExecutor,
    ) -> None:
        """Consecutive target steps, each target through them on its own (its look-up, then
        its Jira count, ...) rather than one step for every target at a time: the reads of
        different APIs overlap, as they do in the run (decision 103). A skip stops the target."""
        live = [key for key in walk.rows if key not in walk.stopped]
        run_changed = walk.run_changed

        def chain(key: str) -> tuple[str, list[PlanEntry], bool, bool]:
            entries: list[PlanEntry] = []
            stop, change = False, key in walk.changed
            for step in steps:
                snapshot = dict(walk.run_outputs)
                after = run_changed or change
                entry, stop, did = self._entry(step, key, walk.rows[key], params, snapshot, after)
                entries.append(entry)
                self.progress.advance(f"plan {step.id}")
                change = change or did
                if stop:
                    break
            return key, entries, stop, change

        for step in steps:
            self.progress.begin(f"plan {step.id}", f"plan {step.id}", len(live))
        try:
            for key, entries, stop, change in pool.map(chain, live):
                walk.target_entries[key].extend(entries)
                if stop:
                    walk.stopped.add(key)
                if change:
                    walk.changed.add(key)
        finally:
            for step in steps:
                self.progress.end(f"plan {step.id}")


@dataclass
class _Walk:
    """What planning has found so far: entries, outputs, and which targets stopped or have a
    change planned before the current step."""

    rows: dict[str, dict[str, Any]]
    run_outputs: dict[str, Any] = field(default_factory=dict)
    stopped: set[str] = field(default_factory=set)
    changed: set[str] = field(default_factory=set)
    run_changed: bool = False
    run_entries: list[PlanEntry] = field(default_factory=list)
    target_entries: dict[str, list[PlanEntry]] = field(default_factory=dict)
    #: run-wide reads going on beside the target steps: (entry index, future, their outputs)
    background: list[tuple[int, Future[tuple[PlanEntry, bool, bool]], dict[str, Any]]] = field(
        default_factory=list
    )

    def __post_init__(self) -> None:
        self.target_entries = {key: [] for key in self.rows}

    def join(self) -> None:
        """Wait for the run-wide reads going on aside; their entries and outputs take their
        places."""
        for index, future, outputs in self.background:
            self.run_entries[index] = future.result()[0]
            self.run_outputs.update(outputs)
        self.background.clear()
