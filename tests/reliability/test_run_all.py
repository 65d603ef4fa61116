"""bench/run_all.py: every benchmark listed, whatever happened to it, in one table."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_all", ROOT / "bench" / "run_all.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_all"] = module
    spec.loader.exec_module(module)
    return module


run_all = _load()


def _benches(folder: Path) -> None:
    (folder / "bench_ok.py").write_text(
        'print("thing: 12.5 ms | p95 3 ms")\nprint(\'{"raw": 1}\')\n'
    )
    (folder / "bench_fail.py").write_text(
        'import sys\nprint("half a figure")\nsys.exit("over budget")\n'
    )
    (folder / "bench_crash.py").write_text('raise SystemExit("cannot import pandas")\n')
    (folder / "bench_slow.py").write_text(
        "import time\nprint('started', flush=True)\ntime.sleep(30)\n"
    )
    (folder / "bench_new.py").write_text(
        '"""A benchmark nobody told run_all about."""\nprint("42/s")\n'
    )


def test_every_benchmark_is_listed_with_what_happened_to_it(tmp_path: Path) -> None:
    _benches(tmp_path)
    known = (
        run_all.Bench("bench_ok.py", "Known ok", "< 20 ms"),
        run_all.Bench("bench_fail.py", "Known failing", "pass"),
        run_all.Bench("bench_crash.py", "Known crashing", "pass"),
        run_all.Bench("bench_slow.py", "Known slow", "fast"),
        run_all.Bench("bench_gone.py", "Known but deleted", "exists"),
    )
    benches = run_all.discover(known, tmp_path)
    assert [b.script for b in benches][-1] == "bench_new.py"
    assert benches[-1].what == "A benchmark nobody told run_all about."
    results = [run_all.run_one(b, 3.0, tmp_path) for b in benches]
    status = {r.bench.script: r.status for r in results}
    assert status == {
        "bench_ok.py": "ok",
        "bench_fail.py": "failed (exit 1)",
        "bench_crash.py": "failed (exit 1): cannot import pandas",
        "bench_slow.py": "timed out after 3 s",
        "bench_gone.py": "missing",
        "bench_new.py": "ok",
    }
    figures = {r.bench.script: r.figures for r in results}
    assert figures["bench_ok.py"] == ["thing: 12.5 ms | p95 3 ms"]  # the JSON dump is left out
    assert figures["bench_fail.py"] == ["half a figure"]

    page = run_all.render(results, "2026-11-23", 12.0)
    rows = [line for line in page.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0] == "| what | command | figure | goal | date | status |"
    assert len(rows) == 1 + len(benches)
    assert (
        "| Known ok | `python bench/bench_ok.py` | thing: 12.5 ms \\| p95 3 ms | < 20 ms "
        "| 2026-11-23 | ok (" in page
    )
    assert (
        "| Known but deleted | `python bench/bench_gone.py` | — | exists | 2026-11-23 | missing |"
        in page
    )
    assert "over budget" in page  # a failure's stderr is kept in the full output
