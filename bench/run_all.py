"""Run every benchmark of the project and write docs/performance.md (`make bench`).

Each bench/bench_*.py is a plain script that prints its figures; this runs them one after the
other in fresh processes (a benchmark must not share a warm heap or a loaded machine with
another), keeps what each printed, and writes one table: what, command, figure, goal, date,
status. It is tolerant on purpose: a benchmark that fails, times out, is missing, or is new and
unknown here is still listed, saying so, and the others still run. The whole set is sized to
finish in under 10 minutes on a 2-core machine; where a benchmark's default size would not fit,
the command below names the smaller size used, and running the script by hand with its defaults
gives the full measurement.

    .venv/bin/python bench/run_all.py [--only NAME ...] [--out docs/performance.md]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
DEFAULT_OUT = ROOT / "docs" / "performance.md"
#: Runs too long for the 10-minute set (1,000 reprovision targets) are measured by hand and
#: written under this heading; regenerating the table keeps that section as it is.
BY_HAND = "## Measured by hand"
#: The whole set must fit in 10 minutes; each benchmark gets at most this much.
DEFAULT_TIMEOUT_S = 240.0
BUDGET_S = 600.0


@dataclass(frozen=True)
class Bench:
    script: str
    what: str
    goal: str
    args: tuple[str, ...] = ()
    #: Printed lines that are not figures (headers, JSON dumps) are left out of the table.
    skip_prefixes: tuple[str, ...] = ("{", "[")
    #: Its own time limit where the default is too short (still within the whole budget).
    timeout_s: float | None = None


# The known benchmarks, in the order they run (cheapest first, so a tight budget loses the
# expensive ones, not all of them). Goals are quoted from the issue or doc that set them.
KNOWN: tuple[Bench, ...] = (
    Bench(
        "bench_world.py",
        "Generate, write and load (validated) a 100,000-account world",
        "generate + load < 10 s and < 1 GB together (issue 2)",
    ),
    Bench(
        "bench_sim.py",
        "Simulator throughput on loopback (sim serve, 4 keep-alive clients, no faults)",
        "no stated budget: the ceiling the end-to-end suites run against (docs/simulator.md)",
    ),
    Bench(
        "bench_connector_rate.py",
        "Connector pacing against a provider limit of 20 requests/s",
        "achieved/limit close to 1.00 with no 429 when [limits] matches the provider "
        "(docs/connectors.md)",
    ),
    Bench(
        "bench_engine.py",
        "Engine overhead per target-step with no-op actions, and state file size",
        "< 2 ms per target-step with checkpoint commits (docs/engine.md)",
        ("--targets", "2000", "--size-steps", "20000"),
    ),
    Bench(
        "bench_analyze.py",
        "`analyze` on a 1,000,000-row Directory export vs pandas",
        "peak memory <= 100 MB, wall time <= 1.0x pandas in the same run (issue 14)",
        # the profile table stays in the full output below, not in the figure cell
        skip_prefixes=("{", "[", "|", "where the time goes"),
    ),
    Bench(
        "bench_reprovision.py",
        "reprovision against a rate-limited, slow simulator: requests per API and wall time "
        "against the critical-path bound",
        "<= 10 /atlassian requests per target; wall <= 1.25 x the bound at 1,000 targets "
        "(issue 14; 300 here, 1,000 by hand); busy API near its limit (issue 5)",
        ("--targets", "300", "--serial-targets", "15"),
        timeout_s=420.0,
        # where the wall goes, step by step, stays in the full output below
        skip_prefixes=("where the wall goes", "  "),
    ),
)


@dataclass
class Result:
    bench: Bench
    command: str
    status: str
    seconds: float = 0.0
    figures: list[str] = field(default_factory=list)
    output: str = ""


def _docstring_line(path: Path) -> str:
    try:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    except (OSError, SyntaxError, ValueError):
        return path.stem
    return (doc or path.stem).strip().splitlines()[0]


def discover(known: tuple[Bench, ...] = KNOWN, folder: Path = BENCH) -> list[Bench]:
    """The known benchmarks, then any other bench_*.py of `folder` (run with its defaults)."""
    names = {b.script for b in known}
    extra = [
        Bench(p.name, _docstring_line(p), "not stated here (add it to KNOWN in bench/run_all.py)")
        for p in sorted(folder.glob("bench_*.py"))
        if p.name not in names
    ]
    return [*known, *extra]


def figures_of(output: str, bench: Bench) -> list[str]:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return [line for line in lines if not line.startswith(bench.skip_prefixes)]


def run_one(bench: Bench, timeout: float, folder: Path = BENCH) -> Result:
    path = folder / bench.script
    command = " ".join(["python", f"bench/{bench.script}", *bench.args])
    if not path.exists():
        return Result(bench, command, "missing")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, str(path), *bench.args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return Result(
            bench, command, f"timed out after {timeout:.0f} s", timeout, figures_of(out, bench), out
        )
    seconds = time.perf_counter() - started
    output = done.stdout + (f"\n[stderr]\n{done.stderr}" if done.returncode else "")
    status = "ok" if done.returncode == 0 else f"failed (exit {done.returncode})"
    if done.returncode and not done.stdout.strip():
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Result(bench, command, f"{status}: {last[:200]}", seconds, [], output)
    return Result(bench, command, status, seconds, figures_of(done.stdout, bench), output)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def kept_by_hand(path: Path) -> str:
    """The hand-measured section of an existing report (from its heading to the next `## `)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return ""
    start = text.find(f"\n{BY_HAND}")
    if start < 0:
        return ""
    end = text.find("\n## ", start + len(BY_HAND) + 1)
    return text[start + 1 : end if end >= 0 else len(text)].strip()


def render(results: list[Result], date: str, total_s: float, by_hand: str = "") -> str:
    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU(s)"
    lines = [
        "# Performance",
        "",
        "Every benchmark of the project in one table, written by `make bench` "
        "(`bench/run_all.py`), which runs each `bench/bench_*.py` in a fresh process. "
        "A benchmark that failed, timed out or is missing is listed as such. "
        "Run one by hand (the command column) for its full output; the scripts' own defaults "
        "may be larger than the sizes used here to keep the whole set under 10 minutes.",
        "",
        f"Measured {date} on {machine}, Python {platform.python_version()}; "
        f"the whole set took {total_s:.0f} s.",
        "",
        "| what | command | figure | goal | date | status |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        figure = "<br>".join(_cell(f) for f in r.figures) or "—"
        took = f" ({r.seconds:.0f} s)" if r.seconds else ""
        lines.append(
            f"| {_cell(r.bench.what)} | `{_cell(r.command)}` | {figure} | {_cell(r.bench.goal)} "
            f"| {date} | {_cell(r.status)}{took} |"
        )
    if by_hand:
        lines += ["", by_hand]
    lines += ["", "## Full output", ""]
    for r in results:
        lines += [f"### {r.bench.script}", "", f"`{r.command}`: {r.status}", ""]
        if r.output.strip():
            lines += ["```text", r.output.strip(), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], help="Run only this script.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Where to write the table.")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="Per benchmark.")
    parser.add_argument("--budget", type=float, default=BUDGET_S, help="For the whole set.")
    args = parser.parse_args(argv)
    benches = discover()
    if args.only:
        wanted = {n if n.endswith(".py") else f"{n}.py" for n in args.only}
        benches = [b for b in benches if b.script in wanted]
    started = time.perf_counter()
    results: list[Result] = []
    for bench in benches:
        left = args.budget - (time.perf_counter() - started)
        if left < 10:
            command = " ".join(["python", f"bench/{bench.script}", *bench.args])
            results.append(Result(bench, command, "not run: the 10-minute budget was spent"))
            continue
        print(f"{bench.script} ...", file=sys.stderr, flush=True)
        result = run_one(bench, min(bench.timeout_s or args.timeout, left))
        print(f"  {result.status} in {result.seconds:.0f} s", file=sys.stderr, flush=True)
        results.append(result)
    total = time.perf_counter() - started
    date = datetime.now(UTC).date().isoformat()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    by_hand = kept_by_hand(args.out)
    args.out.write_text(render(results, date, total, by_hand), encoding="utf-8")
    summary = {r.bench.script: r.status for r in results}
    print(json.dumps({"out": str(args.out), "seconds": round(total, 1), "results": summary}))
    bad = [r.bench.script for r in results if r.status != "ok"]
    if bad:
        print(f"not ok: {', '.join(bad)} (listed as such in {args.out})", file=sys.stderr)
    return 0  # tolerant by design: the table says what did not run


if __name__ == "__main__":
    sys.exit(main())
