"""Hostile inputs of the bad-input corpus that are too big (or too odd: a FIFO) to commit.

A case in cases.toml with `generate = ["KIND", "PATH"]` gets PATH made by `make(KIND, PATH)`
in its fresh copy of the corpus before the command runs. Each generator writes in chunks, so
making a 50 MB one-line header costs about as much memory as a 1 MB one; "too large" files are
sparse (no disk used), because the readers refuse them by size before reading a byte.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

Maker = Callable[[Path], None]
HEADER = "User id,User name,email,User status,Added to org,Org role"


def _chunks(path: Path, head: str, piece: str, count: int, tail: str = "") -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(head)
        batch = 10_000
        for start in range(0, count, batch):
            fh.write(piece * min(batch, count - start))
        fh.write(tail)


def long_header(path: Path) -> None:
    """A 50 MB header line (the reported one was 200 MB: 75 s and 3.3 GB before the limit)."""
    _chunks(path, HEADER, ",Trello - trello", 3_200_000, "\r\nu-1,A,a@acme.example\r\n")


def million_product_columns(path: Path) -> None:
    """A million product columns (reported: 62 s and 1.7 GB before the limit)."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER)
        for n in range(0, 500_000, 10_000):
            fh.write("".join(f",P{i} - s,Last seen in P{i} - s" for i in range(n, n + 10_000)))
        fh.write("\r\n")


def many_columns(path: Path) -> None:
    """6,000 columns in a short line: the column limit, not the line limit, refuses it."""
    _chunks(path, HEADER, ",x", 5_994, "\r\n")


def long_record(path: Path) -> None:
    """One row whose quoted cells run over many short lines: 5 MB in one record."""
    cell = '"' + ("x" * 999 + "\n") * 100 + '"'
    _chunks(path, HEADER + "\r\n", cell + ",", 50, "x\r\n")


def fifo(path: Path) -> None:
    """A named pipe nobody writes to: opening it for reading would block forever."""
    os.mkfifo(path)


def _nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def deep_world(path: Path) -> None:
    path.write_text('{"org": ' + _nested(100_000) + "}", encoding="utf-8")


def deep_targets(path: Path) -> None:
    path.write_text('[{"email": ' + _nested(5_000, '"a@acme.example"') + "}]", encoding="utf-8")


def deep_plan(path: Path) -> None:
    path.write_text('{"format": ' + _nested(100_000) + "}", encoding="utf-8")


def huge_number_world(path: Path) -> None:
    path.write_text('{"org": {"id": ' + "9" * 100_000 + "}}", encoding="utf-8")


def huge_world(path: Path) -> None:
    """A sparse 1 GiB file: refused by its size before a byte is read."""
    with path.open("wb") as fh:
        fh.truncate(1 << 30)


def huge_targets(path: Path) -> None:
    with path.open("wb") as fh:
        fh.truncate(1 << 30)


_PLAYBOOK = """id = "hostile"
title = "A hostile condition"
[targets]
columns = ["email"]
key = "email"
[[steps]]
id = "lookup"
action = "scim.lookup"
scope = "target"
when = {when}
"""


def _when(path: Path, when: str) -> None:
    path.write_text(_PLAYBOOK.format(when=json.dumps(when)), encoding="utf-8")


def deep_when(path: Path) -> None:
    """5,000 brackets deep (reported: RecursionError): refused by the length limit."""
    _when(path, "(" * 5_000 + "true" + ")" * 5_000)


def nested_when(path: Path) -> None:
    """40 levels in 100 characters: refused by the nesting limit."""
    _when(path, "not " * 20 + "(" * 20 + "true" + ")" * 20)


def huge_number_when(path: Path) -> None:
    """A 100,000-digit number (reported: ValueError "unexpected")."""
    _when(path, "target.n == " + "9" * 100_000)


def long_number_when(path: Path) -> None:
    """A 1,000-digit number inside the length limit: refused by the digit limit."""
    _when(path, "target.n == " + "9" * 1_000)


def deep_toml_playbook(path: Path) -> None:
    path.write_text(_PLAYBOOK.format(when=_nested(5_000)), encoding="utf-8")


def deep_profile(path: Path) -> None:
    path.write_text("[atlassian]\ndomains = " + _nested(5_000, '"a"') + "\n", encoding="utf-8")


MAKERS: dict[str, Maker] = {
    "long-header": long_header,
    "million-product-columns": million_product_columns,
    "many-columns": many_columns,
    "long-record": long_record,
    "fifo": fifo,
    "deep-world": deep_world,
    "deep-targets": deep_targets,
    "deep-plan": deep_plan,
    "huge-number-world": huge_number_world,
    "huge-world": huge_world,
    "huge-targets": huge_targets,
    "deep-when": deep_when,
    "nested-when": nested_when,
    "huge-number-when": huge_number_when,
    "long-number-when": long_number_when,
    "deep-toml-playbook": deep_toml_playbook,
    "deep-profile": deep_profile,
}


def make(kind: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    MAKERS[kind](path)
