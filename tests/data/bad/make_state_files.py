"""Regenerate the binary state-file cases of this corpus (the text cases are written by hand).

    .venv/bin/python tests/data/bad/make_state_files.py

Every file is built from fixed bytes or a fixed seed, so running this again gives the same
files unless the state schema itself changed.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

HERE = Path(__file__).resolve().parent / "state"
APPLICATION_ID = 0x53435243  # scimrecon.engine.state_schema.APPLICATION_ID, kept literal on purpose


def _sqlite(path: Path, *statements: str) -> None:
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def main() -> None:
    rng = random.Random(7)
    # SQLite's magic, then noise: a damaged file that still claims to be a database.
    noise = bytes(rng.getrandbits(8) for _ in range(4080))
    (HERE / "garbage.db").write_bytes(b"SQLite format 3\x00" + noise)
    (HERE / "text.db").write_text("run,state\n1,completed\n", encoding="utf-8")
    (HERE / "empty-pages.db").write_bytes(b"SQLite format 3\x00" + bytes(84))
    _sqlite(
        HERE / "foreign.db",
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)",
        "INSERT INTO customers (name) VALUES ('Ada'), ('Bob')",
    )
    _sqlite(
        HERE / "newer.db",
        f"PRAGMA application_id = {APPLICATION_ID}",
        "PRAGMA user_version = 99",
        "CREATE TABLE runs (id INTEGER PRIMARY KEY)",
    )
    # A real database cut after its first page: the header is fine, the tables are gone.
    full = HERE / "full.tmp"
    _sqlite(
        full,
        f"PRAGMA application_id = {APPLICATION_ID}",
        "PRAGMA user_version = 1",
        "CREATE TABLE runs (id INTEGER PRIMARY KEY, playbook TEXT)",
        "CREATE TABLE targets (run INTEGER, key TEXT)",
        "INSERT INTO runs (playbook) VALUES ('reprovision')",
    )
    data = full.read_bytes()
    full.unlink()
    (HERE / "truncated.db").write_bytes(data[: len(data) // 2 + 100])
    # The same in WAL mode (header bytes 18-19 = 2), as scimrecon writes its files: a reader
    # that opened it with plain `mode=ro` would leave -wal and -shm files beside it.
    _sqlite(
        full,
        "PRAGMA journal_mode=WAL",
        f"PRAGMA application_id = {APPLICATION_ID}",
        "PRAGMA user_version = 1",
        "CREATE TABLE runs (id INTEGER PRIMARY KEY, playbook TEXT)",
        "CREATE TABLE targets (run INTEGER, key TEXT)",
        "INSERT INTO runs (playbook) VALUES ('reprovision')",
    )
    data = full.read_bytes()
    full.unlink()
    assert data[18:20] == b"\x02\x02", "not a WAL-mode header"
    (HERE / "wal-truncated.db").write_bytes(data[: len(data) // 2 + 100])
    # A state file nothing was ever written to (a crash before the first commit, `touch`).
    (HERE / "zero.db").write_bytes(b"")
    # A real, empty scimrecon state file (WAL mode, at rest), for the read-only folder cases.
    (HERE / "ro").mkdir(exist_ok=True)
    _real_state(HERE / "ro" / "state.db")


def _real_state(path: Path) -> None:
    import sys

    sys.path.insert(0, str(HERE.parents[3]))
    from scimrecon.engine.state import StateStore

    path.unlink(missing_ok=True)
    StateStore.open(path).close()


if __name__ == "__main__":
    main()
