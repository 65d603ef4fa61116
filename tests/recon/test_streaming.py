"""Reading streams: memory for a 10x larger export stays (nearly) the same."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from scimrecon.recon.export import open_export

HEADER = (
    "User id,User name,email,User status,Added to org,Org role,Jira Software - acme,"
    "Last seen in Jira Software - acme,Trello - trello,Last seen in Trello - trello\n"
)


def _export(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        fh.write(HEADER)
        for n in range(rows):
            fh.write(
                f"id-{n:07d},User {n},user{n}@acme.example,Active,0{1 + n % 9} Jan 2024,Member,"
                f"Yes,{1 + n % 28:02d} Oct 2026,{'Yes' if n % 7 == 0 else 'No'},\n"
            )
    return path


def _peak(path: Path) -> int:
    import numpy  # noqa: F401  (the repeats' sort imports it once: a process's, not a file's cost)

    tracemalloc.start()
    try:
        with open_export(path, domains=["acme.example"]) as export:
            count = sum(1 for _ in export.records())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count > 0
    return peak


def test_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    small = _peak(_export(tmp_path / "small.csv", 3_000))
    large = _peak(_export(tmp_path / "large.csv", 30_000))
    # only the keys' hashes grow (8 bytes a user, repeats.py); holding the 30,000 records
    # instead would take about 13 MB
    assert large - small < 30_000 * 48
    assert large < 2_000_000
