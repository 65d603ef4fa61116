"""Generate, write and load (with full validation) a large world; time and memory of each.

The budget (issue 2): 100,000 accounts must generate and load in under 10 s and 1 GB together.
Each phase runs in a fresh child process so one phase's heap does not flatter the next, and peak
memory is the child's maximum resident set size (what the operating system had to give it).

    .venv/bin/python bench/bench_world.py [--accounts 100000] [--seed 1] [--pretty]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PHASES = {
    "generate": (
        "from scimrecon.sim.generate import generate_world\n"
        "from scimrecon.sim.world import dump_world\n"
        "doc = generate_world({accounts}, {seed})\n"
        "generated = time.perf_counter()\n"
        "dump_world(doc, {path!r}, compact={compact})\n"
        "result = {{'generate_s': generated - start, 'seconds': time.perf_counter() - start}}\n"
    ),
    "load": (
        "from scimrecon.sim.world import load_world\n"
        "from scimrecon.sim.validate import schema_problems\n"
        "from scimrecon.sim.world_references import reference_problems\n"
        "doc = load_world({path!r})\n"
        "result = {{'seconds': time.perf_counter() - start, 'accounts': len(doc['accounts'])}}\n"
        "t = time.perf_counter(); schema_problems(doc)\n"
        "result['schema_s'] = time.perf_counter() - t\n"
        "t = time.perf_counter(); reference_problems(doc)\n"
        "result['refs_s'] = time.perf_counter() - t\n"
    ),
}

CHILD = (
    "import json, resource, time\n"
    "start = time.perf_counter()\n"
    "{body}"
    "usage = resource.getrusage(resource.RUSAGE_SELF)\n"
    "result['peak_mib'] = usage.ru_maxrss / 1024\n"
    "result['cpu_s'] = usage.ru_utime + usage.ru_stime\n"
    "print(json.dumps(result))\n"
)


def run_phase(name: str, **params: object) -> dict[str, float]:
    code = CHILD.format(body=PHASES[name].format(**params))
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pretty", action="store_true", help="indented JSON (as --pretty)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "world.json")
        wall = time.perf_counter()
        gen = run_phase(
            "generate", accounts=args.accounts, seed=args.seed, path=path, compact=not args.pretty
        )
        size_mib = Path(path).stat().st_size / 2**20
        load = run_phase("load", path=path)
        wall = time.perf_counter() - wall
    total = gen["seconds"] + load["seconds"]
    print(f"world: {args.accounts} accounts, seed {args.seed}, {size_mib:.1f} MiB JSON")
    print(
        f"generate: {gen['generate_s']:.2f} s, + write {gen['seconds'] - gen['generate_s']:.2f} s"
        f" = {gen['seconds']:.2f} s (CPU {gen['cpu_s']:.2f} s), peak RSS {gen['peak_mib']:.0f} MiB"
    )
    print(
        f"load_world (read, parse, validate): {load['seconds']:.2f} s "
        f"(process CPU incl. imports and reruns {load['cpu_s']:.2f} s) "
        f"(schema {load['schema_s']:.2f} s and references {load['refs_s']:.2f} s when rerun), "
        f"peak RSS {load['peak_mib']:.0f} MiB"
    )
    peak = max(gen["peak_mib"], load["peak_mib"])
    verdict = "within" if total < 10 and peak < 1024 else "OVER"
    print(
        f"generate + load: {total:.2f} s, peak {peak:.0f} MiB ({verdict} the 10 s / 1 GiB "
        f"budget); bench wall time incl. interpreters and reruns {wall:.2f} s"
    )


if __name__ == "__main__":
    main()
