"""Engine overhead per target-step, and the state file's size, with no-op steps.

What it measures is the engine alone: scheduling on the thread pool, the `when`/check/apply
calls, the two checkpoint commits per target-step (intent before apply, outputs after) and the
audit line. The actions do nothing, so every millisecond is ours.

    .venv/bin/python bench/bench_engine.py [--targets 10000] [--steps 5] [--size-steps 100000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from scimrecon.engine.action import Action, ActionRegistry, StepContext
from scimrecon.engine.playbook import parse_playbook
from scimrecon.engine.runner import Runner, RunOptions
from scimrecon.engine.state import StateStore
from scimrecon.engine.targets import parse_targets


class Noop(Action):
    name = "bench.noop"

    def describe(self, ctx: StepContext) -> str:
        return "would do nothing"

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        return None

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        return {"n": 1}


class QuietUI:
    def confirm(self, message: str) -> bool:
        return True

    def manual(self, instructions: str, expect: str) -> None:
        raise AssertionError("no manual steps in the benchmark")

    def info(self, message: str) -> None:
        pass


def _playbook(steps: int) -> str:
    body = "\n".join(f'[[steps]]\nid = "s{i}"\naction = "bench.noop"\n' for i in range(steps))
    return 'id = "bench"\ntitle = "bench"\n[targets]\ncolumns = ["email"]\nkey = "email"\n' + body


def run_once(
    folder: Path, targets: int, steps: int, concurrency: int, durable: bool
) -> tuple[float, int]:
    registry = ActionRegistry({"bench.noop": Noop})
    playbook = parse_playbook(_playbook(steps), "bench.toml", registry)
    csv = "email\n" + "".join(f"user{i}@acme.example\n" for i in range(targets))
    target_list = parse_targets(
        csv.encode(), "bench.csv", columns=["email"], key="email", max_targets=targets
    )
    path = folder / f"state-{targets}x{steps}-{int(durable)}.db"
    store = StateStore.open(path, durable=durable)
    run_id = store.create_run(
        playbook=playbook.id,
        playbook_hash=playbook.content_hash,
        playbook_name=playbook.source_name,
        playbook_source=playbook.source,
        params={},
        targets_name=target_list.name,
        targets_hash=target_list.digest,
        targets=[(t.key, t.row) for t in target_list.targets],
        options={},
    )
    runner = Runner(store, playbook, registry, None, QuietUI(), RunOptions(concurrency=concurrency))
    start = time.perf_counter()
    result = runner.execute(run_id)
    elapsed = time.perf_counter() - start
    assert result.state == "completed", result
    store.release(run_id)
    store.close()
    size = sum(p.stat().st_size for p in folder.glob(f"{path.name}*"))
    return elapsed, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--size-steps", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for durable in (True, False):
            elapsed, _ = run_once(folder, args.targets, args.steps, args.concurrency, durable)
            per = elapsed / (args.targets * args.steps) * 1000
            mode = "synchronous=FULL (default)" if durable else "synchronous=NORMAL"
            print(
                f"{args.targets} targets x {args.steps} steps, concurrency "
                f"{args.concurrency}, {mode}: {elapsed:.1f} s, {per:.3f} ms per target-step"
            )
        size_targets = args.size_steps // args.steps
        _, size = run_once(folder, size_targets, args.steps, args.concurrency, False)
        print(
            f"state file for {args.size_steps} target-steps ({size_targets} targets x "
            f"{args.steps} steps): {size / 1e6:.1f} MB ({size / args.size_steps:.0f} bytes "
            "per target-step, WAL included)"
        )


if __name__ == "__main__":
    main()
