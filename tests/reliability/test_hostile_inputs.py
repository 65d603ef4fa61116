"""Hostile inputs get bounded failures (issue 11 point 7): each `hostile-` case of the bad-input
corpus, run as its own process, ends with its one line and exit 2 within a CPU-time budget and
under 200 MB of peak memory (the child's own high-water mark, VmHWM, read inside it, so no
other process counts). The child also runs under a 2 GiB address-space cap, so a regression
fails this test instead of eating the machine.

Before the limits: a 200 MB header line took 75 s and 3.3 GB, a million product columns 62 s
and 1.7 GB, and `analyze /dev/zero` or `sim check /dev/zero` grew until killed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.test_bad_input import CASES, CORPUS, _valid_state, prepare

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
PEAK_BUDGET_KB = 200 * 1024
CPU_BUDGET_S = 5.0

_CHILD = """
import json, os, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
from scimrecon.cli.main import cli
code = 0
try:
    cli.main(args=sys.argv[1:], prog_name="scimrecon")
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else 1
finally:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    # VmHWM is this process's own peak: Linux carries ru_maxrss over from the process that
    # spawned it (a 300 MB pytest parent), which would charge the child with the parent's pages.
    peak = ru.ru_maxrss
    try:
        with open("/proc/self/status") as status:
            peak = next(int(l.split()[1]) for l in status if l.startswith("VmHWM:"))
    except (OSError, StopIteration):
        pass
    with open(os.environ["HOSTILE_USAGE"], "w") as fh:
        json.dump({"peak_kb": peak, "cpu_s": ru.ru_utime + ru.ru_stime}, fh)
sys.exit(code)
"""

HOSTILE = [c for c in CASES if c["name"].startswith("hostile-")]


def test_every_reported_hostile_input_has_a_case() -> None:
    names = {c["name"] for c in HOSTILE}
    assert {
        "hostile-export-200mb-header-line",
        "hostile-export-million-product-columns",
        "hostile-export-dev-zero",
        "hostile-world-dev-zero",
        "hostile-playbook-when-5000-deep",
        "hostile-targets-deep-json",
        "hostile-world-deep-nesting",
        "hostile-plan-deep-nesting",
        "hostile-playbook-when-100000-digit-number",
        "hostile-billing-price-1e308",
    } <= names


@pytest.mark.parametrize("case", HOSTILE, ids=[c["name"] for c in HOSTILE])
def test_hostile_input_is_refused_in_bounded_time_and_memory(
    case: dict[str, Any], tmp_path: Path
) -> None:
    folder = tmp_path / "bad"
    shutil.copytree(CORPUS, folder)
    _valid_state(folder / "state" / "valid.db")
    prepare(case, folder)
    usage = tmp_path / "usage.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIMRECON_")}
    env.update(
        PYTHONPATH=str(ROOT),
        HOME=str(tmp_path),
        SCIMRECON_STATE="state/valid.db",
        HOSTILE_USAGE=str(usage),
    )
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *case["args"]],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert (done.returncode, done.stderr.rstrip("\n")) == (case["exit"], case["stderr"])
    measured = json.loads(usage.read_text("utf-8"))
    assert measured["peak_kb"] < PEAK_BUDGET_KB, measured
    assert measured["cpu_s"] < CPU_BUDGET_S, measured
