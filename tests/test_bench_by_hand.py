"""`make bench` rewrites docs/performance.md but keeps the section measured by hand."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run_all():
    spec = importlib.util.spec_from_file_location("run_all_by_hand", ROOT / "bench" / "run_all.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_all_by_hand"] = module
    spec.loader.exec_module(module)
    return module


def test_the_hand_measured_section_survives_a_regeneration(tmp_path: Path) -> None:
    run_all = _run_all()
    report = tmp_path / "performance.md"
    section = f"{run_all.BY_HAND}\n\n| what | figure |\n| --- | --- |\n| 1,000 targets | 856 s |"
    report.write_text(f"# Performance\n\nold table\n\n{section}\n\n## Full output\n\nold\n")
    kept = run_all.kept_by_hand(report)
    assert kept == section
    bench = run_all.Bench("bench_x.py", "x", "goal")
    text = run_all.render([run_all.Result(bench, "python bench/bench_x.py", "ok")], "D", 1.0, kept)
    assert text.index(section) < text.index("## Full output")
    assert "old table" not in text


def test_no_hand_section_when_the_report_has_none_or_is_missing(tmp_path: Path) -> None:
    run_all = _run_all()
    assert run_all.kept_by_hand(tmp_path / "missing.md") == ""
    plain = tmp_path / "performance.md"
    plain.write_text("# Performance\n\n## Full output\n")
    assert run_all.kept_by_hand(plain) == ""
