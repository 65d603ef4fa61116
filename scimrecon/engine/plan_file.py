"""Saved plans: `plan --out FILE` writes one, `run --plan FILE` reads it back and refuses
(exit 4) unless the world still gives the same plan, item for item, naming the first thing that
changed. Apart from planning itself (engine/plan.py), because a file is a contract of its own:
its format name, the fields `run --plan` relies on, and what counts as stale."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scimrecon.atomicfile import write_atomic
from scimrecon.engine.plan import PLAN_FORMAT, Plan, PlanEntry, fingerprint
from scimrecon.errors import InputError, RefusedError
from scimrecon.limits import parse_json, read_document


def write_plan(plan: Plan, path: Path) -> None:
    write_atomic(path, json.dumps(plan.to_json(), indent=2, sort_keys=False) + "\n")


def read_plan(path: Path) -> dict[str, Any]:
    """A saved plan's JSON, checked for the fields `run --plan` relies on."""
    try:
        doc = parse_json(
            read_document(path, missing="plan file not found").decode("utf-8"), str(path)
        )
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a plan file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != PLAN_FORMAT:
        raise InputError(f"{path}: not a scimrecon plan (expected format {PLAN_FORMAT!r})")
    for key in ("playbook", "fingerprint", "made_at", "entries", "targets_hash", "params"):
        if key not in doc:
            raise InputError(f"{path}: plan has no {key!r}")
    return doc


def check_plan(saved: Mapping[str, Any], current: Plan, path: Path) -> None:
    """Refuse (exit 4) unless `current` is the plan that was saved, item for item."""
    name = path.name
    if saved["playbook"] != current.playbook:
        raise RefusedError(
            f"{name} is a plan for playbook {saved['playbook']}, not {current.playbook}"
        )
    keys = ("target", "step", "status", "text", "digest")
    rows = [[e.get(k) for k in keys] if isinstance(e, dict) else e for e in saved["entries"]]
    own = fingerprint(saved.get("playbook_hash"), saved["params"], saved["targets_hash"], rows)
    if own != saved["fingerprint"]:
        raise RefusedError(
            f"{name} was changed after it was made (its contents no longer match its "
            "fingerprint): what was reviewed is not what it says now; make a new plan"
        )
    if saved["fingerprint"] == current.fingerprint:
        return
    made = saved["made_at"]
    if saved.get("playbook_hash") != current.playbook_hash:
        why = "the playbook file changed"
    elif saved.get("targets_hash") != current.targets_hash:
        why = "the targets file changed"
    elif saved.get("params") != current.params:
        why = "the parameters differ"
    else:
        why = f"the world changed{_first_difference(saved['entries'], current.entries)}"
    raise RefusedError(f"{name} is stale: {why} since it was made at {made}; make a new plan")


def _first_difference(saved: list[Mapping[str, Any]], current: list[PlanEntry]) -> str:
    """` (<target or run> <step>: was '…', now '…')` for the first entry that differs.

    A target's entry is named before a run-wide one: a run-wide count (billable before) differs
    because some person's facts did, and that person is what the reader can look at. An entry
    whose text is the same but whose result (digest) is not says so, rather than showing the
    same words twice."""
    old = {(e.get("target"), e.get("step")): e for e in saved}
    ordered = [e for e in current if e.target is not None] + [
        e for e in current if e.target is None
    ]
    for e in ordered:
        before = old.get((e.target, e.step))
        now = {"status": e.status, "text": e.text, "digest": e.digest}
        if before is not None and all(before.get(k) == v for k, v in now.items()):
            continue
        who = e.target or "run"
        if before is not None and before.get("text") == e.text:
            return f" ({who} {e.step}: '{e.text}' read a different result)"
        was = before.get("text") if before else "not planned"
        return f" ({who} {e.step}: was '{was}', now '{e.text}')"
    planned = {(e.target, e.step) for e in current}
    for entry in saved:
        if (entry.get("target"), entry.get("step")) not in planned:
            who = entry.get("target") or "run"
            return f" ({who} {entry.get('step')}: was '{entry.get('text')}', now not planned)"
    return ""
