"""An output path never replaces what the same command reads, its state database or another
of its outputs (cli/outputs.py; trial 6, finding 8: `plan --out state.db` and
`analyze export.csv --targets-out export.csv` destroyed their inputs and exited 0)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from pathlib import Path

from click.testing import CliRunner

from scimrecon.cli.main import cli
from tests.playbooks.harness import FIXTURES, in_process

EXPORT = FIXTURES / "acme-trello" / "users-export.csv"
ANALYZE = ["--as-of", "2026-11-23", "--class", "trello-only"]


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_analyze_does_not_replace_its_own_export(tmp_path: Path) -> None:
    export = tmp_path / "users.csv"
    shutil.copy(EXPORT, export)
    before = export.read_bytes()
    code, _, err = _invoke("analyze", str(export), *ANALYZE, "--targets-out", str(export))
    assert code == 2
    assert err.strip() == (
        f"error: --targets-out {export}: that is also the EXPORT file; refusing to replace it, "
        "choose another path"
    )
    assert export.read_bytes() == before


def test_two_outputs_may_not_be_one_file(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    code, _, err = _invoke("analyze", str(EXPORT), *ANALYZE, "--targets-out", str(out),
                           "--html", str(out))  # fmt: skip
    assert code == 2
    assert err.strip() == (
        f"error: --targets-out {out}: that is also the --html file; refusing to replace it, "
        "choose another path"
    )
    assert not out.exists()


def test_no_output_replaces_an_sqlite_database(tmp_path: Path) -> None:
    db = tmp_path / "anything.db"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.commit()
    before = db.read_bytes()
    code, _, err = _invoke("analyze", str(EXPORT), *ANALYZE, "--targets-out", str(db))
    assert code == 2
    assert err.strip() == (
        f"error: --targets-out {db}: refusing to replace an SQLite database or its files (a "
        "state file holds what resume and undo need); choose another path"
    )
    assert db.read_bytes() == before
    wal = db.with_name(db.name + "-wal")  # the log beside an open database
    code, _, err = _invoke("analyze", str(EXPORT), *ANALYZE, "--targets-out", str(wal))
    assert code == 2 and "refusing to replace an SQLite database or its files" in err
    assert not wal.exists()


def test_a_plan_is_never_saved_over_the_state_file_or_the_targets(tmp_path: Path) -> None:
    with in_process("acme-trello", tmp_path) as env:
        targets = tmp_path / "t.csv"
        targets.write_text("email\nkenji.watanabe@acme.example\n", encoding="utf-8")
        for out, named in ((env.state, "--state"), (targets, "--targets")):
            before = out.read_bytes() if out.exists() else None
            result = env.cli("plan", "reprovision", "--targets", str(targets), "--out", str(out))
            assert result.exit_code == 2, result.output
            assert result.stderr.strip() == (
                f"error: --out {out}: that is also the {named} file; refusing to replace it, "
                "choose another path"
            )
            assert (out.read_bytes() if out.exists() else None) == before
        elsewhere = tmp_path / "plan.json"
        ok = env.cli("plan", "reprovision", "--targets", str(targets), "--out", str(elsewhere))
        assert ok.exit_code == 0, ok.output
        assert elsewhere.read_text(encoding="utf-8").startswith("{")


def test_sim_serve_never_saves_its_world_over_a_state_database(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.commit()
    before = db.read_bytes()
    profile = str(tmp_path / "p.toml")
    code, _, err = _invoke("sim", "serve", "--world", "acme-trello", "--port", "0",
                           "--profile-out", profile, "--save", str(db))  # fmt: skip
    assert code == 2
    assert err.strip() == (
        f"error: --save {db}: refusing to replace an SQLite database or its files (a state "
        "file holds what resume and undo need); choose another path"
    )
    assert db.read_bytes() == before and not (tmp_path / "p.toml").exists()


def test_an_output_that_is_no_regular_file_is_refused_without_waiting(tmp_path: Path) -> None:
    """A pipe or a terminal (trial 8: `--targets-out /dev/stdout` hung on the database check,
    and writing through a temp file renamed over it would replace the link itself)."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code, _, err = _invoke("analyze", str(EXPORT), *ANALYZE, "--targets-out", str(fifo))
    assert code == 2
    assert err.strip() == (
        f"error: --targets-out {fifo}: not a regular file (a terminal, a pipe, a device or a "
        "folder); give a file path, and print that file if you want it on screen"
    )
    assert stat.S_ISFIFO(fifo.stat().st_mode)
