"""A run takes over the reads its own plan made moments before, instead of reading it all again.

`run` plans first (reads only), shows the plan and asks; then the run used to start from the
top and repeat every look-up and count the plan had just made: for reprovision, five requests
per target of the 23 it cost. When the answer came quickly (`--yes`, or a person who said yes
within `FRESH_FOR_S`), the reads at the head of the playbook, before anything can change,
are recorded as the run's own checkpoints (outcome `planned`, an audit line says so) and the
runner goes on from the first step that may change the world, exactly as a resume would. A
slower answer (a person reading the plan for an hour) gets a run that reads again, as before:
the world may have moved (decision 70).
"""

from __future__ import annotations

from typing import Any

from scimrecon.engine.plan import Plan
from scimrecon.engine.redact import redact
from scimrecon.engine.runtypes import RUN_SCOPE
from scimrecon.engine.state import StateStore
from scimrecon.engine.stepexec import summarize

#: A plan confirmed within this many seconds of being made is fresh enough to act on: about
#: the time a run's own look-up wave of a thousand targets takes before its pause.
FRESH_FOR_S = 60.0


def adopt_plan_reads(store: StateStore, run_id: str, plan: Plan) -> int:
    """Record `plan`'s head reads as `run_id`'s checkpoints; returns how many were recorded.

    The records are the ones the runner itself writes for a done or skipped step (so status,
    report, resume and undo cannot tell the difference), with outcome `planned`.
    """
    run_outputs: dict[str, Any] = {}
    target_outputs: dict[str, dict[str, Any]] = {}
    for read in plan.reads:
        kept: dict[str, Any]
        if read.outputs is None:
            reason = redact(read.reason or "skipped")
            target_state = "skipped" if read.target else None
            kept = {"state": "skipped", "error": reason, "target_reason": reason}
            kept.update(target_state=target_state, summary=reason)
        elif read.target == RUN_SCOPE:
            run_outputs.update(read.outputs)
            kept = {"state": "done", "attempts": 0, "run_outputs": dict(run_outputs)}
        else:
            merged = {**target_outputs.get(read.target, {}), **read.outputs}
            target_outputs[read.target] = merged
            kept = {"state": "done", "attempts": 0, "target_outputs": merged}
            kept["target_state"] = "pending"
        if read.outputs is not None:
            kept.update(outputs=dict(read.outputs), summary=redact(summarize(read.outputs)))
        store.record(run_id, read.target, read.step, action=read.action, outcome="planned", **kept)
    if plan.reads:
        store.add_audit(
            run_id,
            "plan-reads-adopted",
            f"{len(plan.reads)} read(s) made while planning recorded as this run's own",
        )
    return len(plan.reads)


__all__ = ["FRESH_FOR_S", "adopt_plan_reads"]
