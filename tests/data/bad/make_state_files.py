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
APPLICATION_ID = 0x53435243  # scimrecon.engine.state.APPLICATION_ID, kept literal on purpose


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


if __name__ == "__main__":
    main()
