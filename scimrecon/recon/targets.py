"""Target lists in the one shape every playbook accepts: `email,account_id,name,reason`.

Written with the csv module (quotes, commas and newlines in names survive), with formula-like
cells neutralised for spreadsheets (scimrecon.spreadsheet; the target loader undoes it), and
atomically, so a half-written list can never be fed to a playbook that changes people's access.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path

from scimrecon import spreadsheet
from scimrecon.errors import InputError
from scimrecon.recon.classify import Candidate

TARGET_COLUMNS = ("email", "account_id", "name", "reason")


def targets_csv(candidates: Iterable[Candidate]) -> str:
    out = io.StringIO()
    writer = spreadsheet.writer(out)
    writer.writerow(TARGET_COLUMNS)
    for c in candidates:
        writer.writerow([c.email, c.account_id, c.name, c.reason])
    return out.getvalue()


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` whole or not at all: a temp file beside it, then a rename.

    The temp file is created with the usual permissions (umask applies), unlike mkstemp's
    0600, so a report or target list can be shared like any other file.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None


def write_targets(path: Path, candidates: Iterable[Candidate]) -> int:
    """Write the list to `path` (replacing it whole); return how many targets it holds."""
    items = list(candidates)
    write_atomic(path, targets_csv(items))
    return len(items)
