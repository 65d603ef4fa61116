"""Bad input: every file in tests/data/bad/ is refused with its one expected line and exit code,
and nothing on disk changes — above all not the state file.

The cases live in tests/data/bad/cases.toml (file, command, exit code, stderr). Each runs the
real CLI in-process, in a fresh copy of the corpus folder, with a real state file holding one
parked run; afterwards every file of the folder must be byte-identical and no file may have
appeared or vanished (an SQLite -wal or -journal left behind would count).

Big or odd hostile inputs (a 50 MB header line, a FIFO, a sparse 1 GiB file) are made in the
copy by tests/data/bad/generate.py (`generate = [KIND, PATH]` in a case) rather than committed;
tests/reliability/test_hostile_inputs.py runs the same cases in a child process and holds
each to its time and memory budget.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tomllib
import types
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scimrecon.cli.main import cli
from scimrecon.engine.playbook import load_playbook
from scimrecon.engine.state import StateStore
from scimrecon.steps import REGISTRY
from tests.reliability.mounts import read_only

pytestmark = pytest.mark.reliability


def _load_generators() -> Any:
    """tests/data/bad/generate.py, imported by path (the data folder is not a package)."""
    path = Path(__file__).resolve().parents[1] / "data" / "bad" / "generate.py"
    module = types.ModuleType("bad_input_generate")
    module.__file__ = str(path)
    sys.modules[module.__name__] = module  # dataclass-free, but keeps tracebacks readable
    exec(compile(path.read_text("utf-8"), str(path), "exec"), module.__dict__)  # no __pycache__
    return module


CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad"
generate = _load_generators()
CASES: list[dict[str, Any]] = tomllib.loads((CORPUS / "cases.toml").read_text("utf-8"))["case"]


def _valid_state(path: Path) -> None:
    """A real state file with one parked reprovision run, as a person would have on disk."""
    playbook = load_playbook("reprovision", REGISTRY)
    store = StateStore.open(path, create=True)
    try:
        run = store.create_run(
            playbook=playbook.id,
            playbook_hash=playbook.content_hash,
            playbook_name=playbook.source_name,
            playbook_source=playbook.source,
            params=playbook.resolve_params(()),
            targets_name="targets.csv",
            targets_hash="0" * 64,
            targets=[("ada@acme.example", {"email": "ada@acme.example"})],
            options={"concurrency": 4},
        )
        store.set_run_state(run, "parked", "1 target(s) waiting")
        store.release(run)
    finally:
        store.close()


def _fingerprint(path: Path) -> str:
    if path.parts and "generated" in path.parts:  # big (sparse) files: size and time suffice
        st = path.stat()
        return f"{st.st_size}:{st.st_mtime_ns}"
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): _fingerprint(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() or p.is_fifo()
    }


def prepare(case: dict[str, Any], folder: Path) -> None:
    """Make the case's generated input (if any) inside its copy of the corpus."""
    if "generate" in case:
        kind, path = case["generate"]
        generate.make(kind, folder / path)


def _param(case: dict[str, Any]) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=case["xfail"])] if "xfail" in case else []
    return pytest.param(case, id=case["name"], marks=marks)


def test_the_corpus_has_at_least_30_cases_each_naming_existing_files() -> None:
    assert len(CASES) >= 30
    names = [c["name"] for c in CASES]
    assert len(set(names)) == len(names), "case names must be unique"
    referenced = {a for c in CASES for a in c["args"] if "/" in a and not a.startswith("/")}
    shipped = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.is_file()}
    shipped |= {c["generate"][1] for c in CASES if "generate" in c}
    assert all(c["generate"][0] in generate.MAKERS for c in CASES if "generate" in c)
    # made by the test (valid.db), a directory, or meant not to exist
    expected_absent = {"state/valid.db", "state/directory.db", "state/new.db", "state/ro"}
    missing = {r for r in referenced if r not in shipped and "missing" not in r}
    assert missing <= expected_absent, missing - expected_absent


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_bad_input_is_refused_in_one_line_and_changes_nothing(
    case: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "bad"
    shutil.copytree(CORPUS, folder)
    _valid_state(folder / "state" / "valid.db")
    prepare(case, folder)
    monkeypatch.chdir(folder)
    for name in [n for n in os.environ if n.startswith("SCIMRECON_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SCIMRECON_STATE", "state/valid.db")
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.config/scimrecon profile to fall back on
    before = _snapshot(folder)

    expected = case.get("stderr")
    if "read_only" in case:
        with read_only(folder / case["read_only"]) as mounted:
            result = CliRunner().invoke(cli, case["args"], prog_name="scimrecon")
        expected = expected if mounted else case.get("stderr_chmod", expected)
    else:
        result = CliRunner().invoke(cli, case["args"], prog_name="scimrecon")

    if "stderr_list" in case:  # a message ending in a list that grows with the project
        head = case["stderr_list"]
        line = result.stderr.rstrip("\n")
        assert (result.exit_code, line[: len(head)]) == (case["exit"], head)
        assert "\n" not in line and line.endswith(")")
    else:
        assert (result.exit_code, result.stderr.rstrip("\n")) == (case["exit"], expected)
    assert result.stdout == ""
    assert _snapshot(folder) == before
